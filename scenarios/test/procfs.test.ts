import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import {
  childPids,
  childrenOf,
  cpuMs,
  processStat,
  RssTrack,
  rssMb,
  threadCpuMs,
  treeMemory,
} from '../run/procfs.ts'

const mainThreadCpuMs = (pid: number) => threadCpuMs(pid).get(pid)?.ms ?? Number.NaN

/**
 * Keeps the calling thread busy until it has used `ms` milliseconds of CPU time by its own count
 * (a busy machine gives it less than the wall time), for at most 20 s.
 */
function spin(ms: number): void {
  const start = process.threadCpuUsage()
  const end = performance.now() + 20_000
  while (performance.now() < end) {
    const used = process.threadCpuUsage(start)
    if ((used.user + used.system) / 1000 >= ms) return
  }
}

describe("a process's CPU time by /proc", () => {
  it("counts another thread's work in the process, not in its main thread", async () => {
    const pid = process.pid
    const main0 = mainThreadCpuMs(pid)
    const all0 = cpuMs(pid)
    // A thread of this process burns 400 ms of CPU while the main thread waits for it.
    const worker = new Worker(
      `const start = process.threadCpuUsage(); const end = performance.now() + 20000
      while (performance.now() < end) { const u = process.threadCpuUsage(start); if (u.user + u.system >= 400000) break }
      process.exit(0)`,
      { eval: true },
    )
    await once(worker, 'exit')
    const main1 = mainThreadCpuMs(pid)
    const all1 = cpuMs(pid)
    expect(all1 - all0 - (main1 - main0)).toBeGreaterThan(200)
    expect(main1 - main0).toBeLessThan(200)
  })

  it('counts the main thread its own work', () => {
    const pid = process.pid
    const main0 = mainThreadCpuMs(pid)
    spin(300)
    expect(mainThreadCpuMs(pid) - main0).toBeGreaterThan(100)
    const threads = threadCpuMs(pid)
    expect(threads.get(pid)?.name).toBe('MainThread')
    const sum = [...threads.values()].reduce((a, t) => a + t.ms, 0)
    expect(sum).toBeLessThanOrEqual(cpuMs(pid))
  })

  it('knows no threads of a process that is gone', () => {
    expect(threadCpuMs(2 ** 22 + 1).size).toBe(0)
  })
})

describe("a process tree's memory by /proc", () => {
  it('adds the children to the process, and reads nothing once the process has exited', async () => {
    // A parent that starts one child and prints its pid, both idle until killed.
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
        console.log(c.pid); setInterval(() => {}, 1000)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const [line] = (await once(parent.stdout, 'data')) as [Buffer]
    const child = Number(line.toString().trim())
    try {
      // Until the child has loaded node, its memory is not yet tens of MB.
      const grown = () => (rssMb(child) ?? 0) > 10
      for (let i = 0; i < 250 && !grown(); i++) await sleep(20)
      const tree = treeMemory(parent.pid as number)
      expect(tree?.children).toContain(child)
      const own = rssMb(parent.pid as number) as number
      expect(tree?.rssMb).toBeGreaterThan(own + 10)
    } finally {
      process.kill(child, 'SIGKILL')
      parent.kill('SIGKILL')
      await once(parent, 'exit')
    }
    // Reaped by now: gone, not 0 MB (a sampler that read 0 would end a memory trend on a cliff).
    expect(treeMemory(parent.pid as number)).toBeNull()
    expect(rssMb(parent.pid as number)).toBeNull()
  })

  it('tracks a process while it runs, and reads nothing before it is named or once it is gone', async () => {
    let pid = 0
    const track = new RssTrack(() => pid, 20)
    await sleep(100) // no process named yet
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    await once(idle, 'spawn')
    // Named once it runs, as a benchmark names the proxy once it is ready.
    for (let i = 0; i < 250 && (rssMb(idle.pid as number) ?? 0) <= 10; i++) await sleep(20)
    pid = idle.pid as number
    await sleep(300)
    idle.kill('SIGKILL')
    await once(idle, 'exit')
    const read = track.samples.length
    await sleep(200) // ten more ticks on a process that has exited
    const samples = track.stop()
    expect(read).toBeGreaterThan(3)
    expect(samples.length).toBe(read)
    for (const s of samples) expect(s.value).toBeGreaterThan(10)
    expect(samples[0]?.seconds).toBeGreaterThanOrEqual(0.1)
  })
})

describe('a fake /proc (the root option)', () => {
  // /proc/<pid>/stat with a command name holding spaces and parentheses, 250 + 50 ticks of CPU;
  // pid 41 a zombie child of 40, 42 a live one.
  const root = mkdtempSync(join(tmpdir(), 'procfs-'))
  const stat = (pid: number, state: string) =>
    `${pid} (node (worker) 1) ${state} 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 0 0`
  for (const [pid, state] of [
    [40, 'S'],
    [41, 'Z'],
    [42, 'R'],
  ] as const) {
    mkdirSync(join(root, String(pid), 'task', String(pid)), { recursive: true })
    writeFileSync(join(root, String(pid), 'stat'), stat(pid, state))
  }
  writeFileSync(join(root, '40', 'task', '40', 'children'), '41 42 ')

  it("reads a process's state and CPU time past a command name with spaces and parentheses", () => {
    expect(processStat(40, { root })).toEqual({ state: 'S', ms: 3000 })
    expect(processStat(40, { root, clockTicks: 1000 })).toEqual({ state: 'S', ms: 300 })
    expect(cpuMs(42, { root })).toBe(3000)
    expect(processStat(43, { root })).toBeNull()
    expect(() => cpuMs(43, { root })).toThrow('process 43 is gone')
  })

  it('lists every child, and the live ones apart from a zombie', () => {
    expect(childrenOf(40, { root })).toEqual([41, 42])
    expect(childPids(40, { root })).toEqual([42])
    expect(childPids(43, { root })).toEqual([])
  })
})
