// Small pieces of engine machinery: the generator's own load (CPU, event-loop delay and utilisation),
// abortable sleeps, package versions.
import { createRequire } from 'node:module'
import { type ELDHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks'

/** CPU of this process since the previous reading, 100 = one core busy the whole interval. */
export function cpuMeter(): () => number {
  let last = process.cpuUsage()
  let lastAt = process.hrtime.bigint()
  return () => {
    const usage = process.cpuUsage(last)
    const at = process.hrtime.bigint()
    const wallUs = Number(at - lastAt) / 1000
    last = process.cpuUsage()
    lastAt = at
    return wallUs <= 0 ? 0 : ((usage.user + usage.system) / wallUs) * 100
  }
}

/** The event-loop delay timer fires every this many ms; what it records beyond that is delay. */
export const LOOP_RESOLUTION_MS = 10

export type LoopReading = {
  /** p95 of how late the loop ran a due timer, ms (the generator's own lateness, send and receive). */
  readonly delayP95Ms: number
  /** Share of the wall time the event loop was busy, 0..1 (near 1: answers wait in the socket buffers). */
  readonly utilization: number
}

export type LoopMeter = {
  /** Since the previous reading. */
  read(): LoopReading
  /** The whole run so far: delay percentiles (ms) and utilisation. */
  total(): { delayMs: { p50: number; p99: number; max: number }; utilization: number }
  stop(): void
}

/**
 * The generator's own health, as the engine sees it from inside: how late its event loop runs a due
 * timer (Node's monitorEventLoopDelay, which records each interval; the resolution is taken off) and
 * how busy the loop is (event-loop utilisation). A loop that runs late sends late and reads answers
 * late, so whatever it measures includes its own delay.
 */
export function loopMeter(): LoopMeter {
  const interval = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  const whole = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  interval.enable()
  whole.enable()
  const start = performance.eventLoopUtilization()
  let last = start
  const delay = (h: ELDHistogram, p: number) =>
    h.count === 0 ? 0 : Math.max(0, h.percentile(p) / 1e6 - LOOP_RESOLUTION_MS)
  return {
    read() {
      const now = performance.eventLoopUtilization()
      const reading = {
        delayP95Ms: delay(interval, 95),
        utilization: performance.eventLoopUtilization(now, last).utilization,
      }
      last = now
      interval.reset()
      return reading
    },
    total() {
      return {
        delayMs: {
          p50: delay(whole, 50),
          p99: delay(whole, 99),
          max: whole.count === 0 ? 0 : Math.max(0, whole.max / 1e6 - LOOP_RESOLUTION_MS),
        },
        utilization: performance.eventLoopUtilization(start).utilization,
      }
    },
    stop() {
      interval.disable()
      whole.disable()
    },
  }
}

/** Sleeps that can all be cut short at once (when the run stops). */
export class Sleeper {
  readonly #pending = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>()
  #woken = false

  sleep(ms: number): Promise<void> {
    if (this.#woken || ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.#pending.delete(entry)
          resolve()
        }, ms),
      }
      this.#pending.add(entry)
    })
  }

  /** True once wakeAll() was called: every later sleep returns at once. */
  get woken(): boolean {
    return this.#woken
  }

  wakeAll(): void {
    this.#woken = true
    for (const entry of this.#pending) {
      clearTimeout(entry.timer)
      entry.resolve()
    }
    this.#pending.clear()
  }
}

export function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}
