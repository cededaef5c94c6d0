import type { Clock } from '../clock.ts'
import { RollingCounts } from './rolling-counts.ts'

const REQUESTS = 0
const RETRIES = 1

/**
 * Caps retries at `ratio` of the requests seen in a sliding window (plus a small floor), so that
 * during an outage retries cannot multiply the load on a provider that is already failing
 * (the retry-budget pattern of Finagle and Envoy).
 */
export class RetryBudget {
  readonly #ratio: number
  readonly #floor: number
  readonly #counts: RollingCounts
  #denied = 0

  constructor(options: { ratio: number; minRetriesPerSecond: number; windowSeconds: number }, clock: Clock) {
    this.#ratio = options.ratio
    this.#floor = options.minRetriesPerSecond * options.windowSeconds
    this.#counts = new RollingCounts({ series: 2, windowMs: options.windowSeconds * 1000 }, clock.now)
  }

  recordRequest(): void {
    this.#counts.add(REQUESTS)
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryRetry(): boolean {
    const allowed = Math.max(this.#floor, this.#ratio * this.#counts.sum(REQUESTS))
    if (this.#counts.sum(RETRIES) + 1 > allowed) {
      this.#denied++
      return false
    }
    this.#counts.add(RETRIES)
    return true
  }

  snapshot(): { requests: number; retries: number; denied: number } {
    return { requests: this.#counts.sum(REQUESTS), retries: this.#counts.sum(RETRIES), denied: this.#denied }
  }
}
