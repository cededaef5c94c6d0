import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { cpuMs, threadCpuMs } from '../run/procfs.ts'

const mainThreadCpuMs = (pid: number) => threadCpuMs(pid).get(pid)?.ms ?? Number.NaN

/** Keeps the calling thread busy for `ms` milliseconds of wall time. */
function spin(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end);
}

describe("a process's CPU time by /proc", () => {
  it("counts another thread's work in the process, not in its main thread", async () => {
    const pid = process.pid
    const main0 = mainThreadCpuMs(pid)
    const all0 = cpuMs(pid)
    // A thread of this process burns 400 ms while the main thread waits for it.
    const worker = new Worker(
      'const end = performance.now() + 400; while (performance.now() < end); process.exit(0)',
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
