import { Session } from 'node:inspector/promises'

// A CPU profile of this process for N seconds, through the inspector protocol in-process (no
// debugger port is opened). The result is a .cpuprofile that Chrome DevTools and speedscope open.
// One at a time: a second request while one runs is refused by the caller.

export class CpuProfiler {
  #running = false

  get running(): boolean {
    return this.#running
  }

  async profile(seconds: number, sleep: (ms: number) => Promise<void>): Promise<object> {
    if (this.#running) throw new Error('a CPU profile is already being taken')
    this.#running = true
    const session = new Session()
    session.connect()
    try {
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 1000 })
      await session.post('Profiler.start')
      await sleep(seconds * 1000)
      const { profile } = await session.post('Profiler.stop')
      return profile
    } finally {
      await session.post('Profiler.disable').catch(() => {})
      session.disconnect()
      this.#running = false
    }
  }
}
