// A benchmark stopped from outside (a timeout, CI, Ctrl-C) stops the servers it started: none is left
// running, holding a port and a CPU, after the benchmark has gone.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { childPids } from '../run/procfs.ts'

/** Running, or stopped but not reaped: anything but gone or a zombie. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z'
  } catch {
    return false
  }
}

describe('a benchmark stopped by a signal', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops every server it started on %s',
    async (signal) => {
      const bench = spawn(
        process.execPath,
        ['scenarios/bench/proxy-bench.ts', '--warmup', '60', '--seconds', '60', '--rounds', '1'],
        { stdio: 'ignore' },
      )
      // The mock and the gateways under test are up once the bench has started several children.
      let started: number[] = []
      for (let i = 0; i < 300 && started.length < 3; i++) {
        await sleep(100)
        started = childPids(bench.pid!)
      }
      expect(started.length).toBeGreaterThanOrEqual(3)
      const exited = once(bench, 'exit')
      bench.kill(signal)
      const [code] = await exited
      expect(code).toBe(signal === 'SIGINT' ? 130 : 143)
      expect(started.filter(alive)).toEqual([])
    },
    60_000,
  )
})
