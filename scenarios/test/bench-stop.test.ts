// A benchmark stopped from outside (a timeout, CI, Ctrl-C), or ended by a crash, stops the servers it
// started: none is left running, holding a port and a CPU, after the benchmark has gone.
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

describe('a benchmark that crashes', () => {
  it('leaves no server running after an uncaught error ends it', async () => {
    // A benchmark that starts two mocks, prints their PIDs, then fails outside its main promise
    // (an error thrown from a timer or a stream's 'error' event ends the process at once).
    const common = new URL('../bench/common.ts', import.meta.url).href
    const script = `
      import { runBench, startMock } from '${common}'
      runBench(async (start) => {
        const mocks = [await startMock(start, { profile: 'zero' }), await startMock(start, { profile: 'zero' })]
        console.log(mocks.map((m) => m.child.pid).join(' '))
        setTimeout(() => { throw new Error('crash') }, 100)
        await new Promise(() => {})
      })`
    const bench = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const [line] = (await once(bench.stdout!, 'data')) as [Buffer]
    const started = line.toString().trim().split(' ').map(Number)
    expect(started.length).toBe(2)
    try {
      const [code] = await once(bench, 'exit')
      expect(code).not.toBe(0)
      for (let i = 0; i < 50 && started.some(alive); i++) await sleep(100)
      expect(started.filter(alive)).toEqual([])
    } finally {
      for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL')
    }
  }, 60_000)
})
