import { EventEmitter } from 'node:events'

/** Buckets of the rolling window (opossum's default). */
export const WINDOW_BUCKETS = 10

/**
 * Moves opossum's rolling window on the injected clock, through opossum's documented
 * `rotateBucketController` (an emitter of `rotate`, one per bucket's worth of time), instead of
 * a timer of opossum's own: the window is judged on the proxy's time, and a breaker costs no
 * interval. Rotating every bucket out is also the only documented way to empty the window.
 */
export class WindowRotation extends EventEmitter<{ rotate: [] }> {
  readonly #bucketMs: number
  #bucketStart: number

  constructor(windowMs: number, now: number) {
    super()
    this.#bucketMs = windowMs / WINDOW_BUCKETS
    this.#bucketStart = now
  }

  /** Rotates out the buckets whose time is over; called before opossum counts or reads the window. */
  advance(now: number): void {
    const steps = Math.floor((now - this.#bucketStart) / this.#bucketMs)
    if (steps <= 0) return
    this.#bucketStart += steps * this.#bucketMs
    this.#rotate(Math.min(steps, WINDOW_BUCKETS))
  }

  /** Empties the window: what it held describes a provider that is no longer there. */
  clear(now: number): void {
    this.#bucketStart = now
    this.#rotate(WINDOW_BUCKETS)
  }

  #rotate(buckets: number): void {
    for (let i = 0; i < buckets; i++) this.emit('rotate')
  }
}
