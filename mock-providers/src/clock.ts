/** Monotonic time for delays and windows, wall time for the `created` fields of responses. */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number
  /** Milliseconds since the Unix epoch. */
  epochMs(): number
}

export type TimerCallback<T> = (arg: T) => void

/**
 * Where delays come from. The node:http adapter schedules every delay of a response plan through
 * this, so tests can record or shrink delays instead of waiting for them.
 */
export interface Timers {
  setTimeout<T>(callback: TimerCallback<T>, ms: number, arg: T): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => performance.now(),
  epochMs: () => Date.now(),
}

export const systemTimers: Timers = {
  setTimeout: (callback, ms, arg) => setTimeout(callback, ms, arg),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}
