import type { CancelSignal } from './cancel.ts'

/** Time as the proxy sees it; injected so retries, cooldowns and breakers can be tested. */
export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number
  /** Monotonic milliseconds with sub-millisecond precision, for durations. */
  monotonic(): number
  /** Resolves after `ms`; rejects with the cancellation's reason when it is cancelled first. */
  sleep(ms: number, cancel?: CancelSignal): Promise<void>
}

export const systemClock: Clock = {
  now: Date.now,
  monotonic: () => performance.now(),
  sleep: (ms, cancel) =>
    new Promise((resolve, reject) => {
      if (cancel?.aborted) return reject(cancel.reason)
      if (ms <= 0) return resolve()
      const remove = cancel?.onAbort(() => {
        clearTimeout(timer)
        reject(cancel.reason)
      })
      const timer = setTimeout(() => {
        remove?.()
        resolve()
      }, ms)
    }),
}

/** A random source in [0, 1); injected so jitter and weighted routing reproduce in tests. */
export type Random = () => number
