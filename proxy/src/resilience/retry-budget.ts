import type { Clock } from '../clock.ts'

const BUCKETS = 10

/**
 * Caps retries at `ratio` of the requests seen in a sliding window (plus a small floor), so that
 * during an outage retries cannot multiply the load on a provider that is already failing
 * (the retry-budget pattern of Finagle and Envoy).
 */
export class RetryBudget {
  readonly #clock: Clock
  readonly #ratio: number
  readonly #floor: number
  readonly #bucketMs: number
  readonly #requests = new Float64Array(BUCKETS)
  readonly #retries = new Float64Array(BUCKETS)
  #bucket = 0
  #bucketStart = 0
  #denied = 0

  constructor(options: { ratio: number; minRetriesPerSecond: number; windowSeconds: number }, clock: Clock) {
    this.#clock = clock
    this.#ratio = options.ratio
    this.#floor = options.minRetriesPerSecond * options.windowSeconds
    this.#bucketMs = (options.windowSeconds * 1000) / BUCKETS
    this.#bucketStart = clock.now()
  }

  recordRequest(): void {
    this.#advance()
    this.#requests[this.#bucket]++
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryRetry(): boolean {
    this.#advance()
    const allowed = Math.max(this.#floor, this.#ratio * sum(this.#requests))
    if (sum(this.#retries) + 1 > allowed) {
      this.#denied++
      return false
    }
    this.#retries[this.#bucket]++
    return true
  }

  snapshot(): { requests: number; retries: number; denied: number } {
    this.#advance()
    return { requests: sum(this.#requests), retries: sum(this.#retries), denied: this.#denied }
  }

  #advance(): void {
    const now = this.#clock.now()
    let steps = Math.floor((now - this.#bucketStart) / this.#bucketMs)
    if (steps <= 0) return
    this.#bucketStart += steps * this.#bucketMs
    if (steps > BUCKETS) steps = BUCKETS
    for (let i = 0; i < steps; i++) {
      this.#bucket = (this.#bucket + 1) % BUCKETS
      this.#requests[this.#bucket] = 0
      this.#retries[this.#bucket] = 0
    }
  }
}

function sum(values: Float64Array): number {
  let total = 0
  for (let i = 0; i < values.length; i++) total += values[i]
  return total
}
