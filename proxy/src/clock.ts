import { setTimeout as delay } from 'node:timers/promises'

/** Time as the proxy sees it; injected so retries, cooldowns and breakers can be tested. */
export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number
  /** Monotonic milliseconds with sub-millisecond precision, for durations. */
  monotonic(): number
  /** Resolves after `ms`; rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: Date.now,
  monotonic: () => performance.now(),
  sleep: (ms, signal) => (ms <= 0 ? Promise.resolve() : delay(ms, undefined, { signal })),
}

/** A random source in [0, 1); injected so jitter and weighted routing reproduce in tests. */
export type Random = () => number
