/**
 * Event counts over a sliding window, kept in `buckets` buckets that are zeroed as time moves on
 * (the window shape of opossum, Finagle and Envoy). Several series share one window.
 */
export class RollingCounts {
  readonly #now: () => number
  readonly #bucketMs: number
  readonly #buckets: number
  readonly #series: Float64Array[]
  #bucket = 0
  #bucketStart: number

  constructor(options: { series: number; windowMs: number; buckets?: number }, now: () => number) {
    this.#now = now
    this.#buckets = options.buckets ?? 10
    this.#bucketMs = options.windowMs / this.#buckets
    this.#series = Array.from({ length: options.series }, () => new Float64Array(this.#buckets))
    this.#bucketStart = now()
  }

  add(series: number, n = 1): void {
    this.#advance()
    this.#series[series][this.#bucket] += n
  }

  /** Forgets one series' counts (a state the window described is over). */
  clear(series: number): void {
    this.#series[series].fill(0)
  }

  sum(series: number): number {
    this.#advance()
    const values = this.#series[series]
    let total = 0
    for (let i = 0; i < values.length; i++) total += values[i]
    return total
  }

  #advance(): void {
    const now = this.#now()
    let steps = Math.floor((now - this.#bucketStart) / this.#bucketMs)
    if (steps <= 0) return
    this.#bucketStart += steps * this.#bucketMs
    if (steps > this.#buckets) steps = this.#buckets
    for (let i = 0; i < steps; i++) {
      this.#bucket = (this.#bucket + 1) % this.#buckets
      for (const values of this.#series) values[this.#bucket] = 0
    }
  }
}
