import type { CancelSignal } from '../cancel.ts'
import type { Clock, Random } from '../clock.ts'
import type { Deployment } from '../providers/registry.ts'
import { backoffMs } from './backoff.ts'
import { type FailureKind, networkFailure, UpstreamFailure } from './failure.ts'
import type { RetryBudget } from './retry-budget.ts'

export interface RetrySettings {
  /** Retries after the first pass over the deployments (http_client.retry_attempts). */
  readonly attempts: number
  readonly backoffFactorSeconds: number
  readonly maxBackoffSeconds: number
  /** A provider asking for a longer wait is not waited for (http_client.retry_after_max). */
  readonly retryAfterMaxMs: number
}

export interface AttemptEvent {
  readonly provider: string
  readonly durationMs: number
  readonly outcome: 'ok' | FailureKind
  readonly status: number | undefined
}

export interface Execution<T> {
  readonly value: T
  readonly deployment: Deployment
  readonly attempts: number
  /** Time spent in calls to providers, all attempts together. */
  readonly upstreamMs: number
  /** Time spent waiting between attempts (backoff, Retry-After). */
  readonly waitMs: number
}

/**
 * Runs one request over a route's deployments: each deployment once in order (failover, no
 * wait), then up to `attempts` retries with full-jitter backoff or the provider's Retry-After,
 * each retry taken from the retry budget. Open breakers and providers cooling down after a 429
 * are skipped. Throws the last UpstreamFailure.
 */
export class Executor {
  readonly #settings: RetrySettings
  readonly #clock: Clock
  readonly #random: Random
  readonly #budget: RetryBudget
  readonly #onAttempt: ((event: AttemptEvent) => void) | undefined

  constructor(
    settings: RetrySettings,
    deps: { clock: Clock; random: Random; budget: RetryBudget; onAttempt?: (event: AttemptEvent) => void },
  ) {
    this.#settings = settings
    this.#clock = deps.clock
    this.#random = deps.random
    this.#budget = deps.budget
    this.#onAttempt = deps.onAttempt
  }

  async run<T>(
    order: readonly Deployment[],
    attempt: (d: Deployment, signal: CancelSignal) => Promise<T>,
    signal: CancelSignal,
  ): Promise<Execution<T>> {
    const clock = this.#clock
    this.#budget.recordRequest()
    let tried = 0 // bit i: order[i] was tried in the first pass
    let last: UpstreamFailure | undefined
    let attempts = 0
    let retries = 0
    let upstreamMs = 0
    let waitMs = 0

    for (;;) {
      let index = this.#nextUntried(order, tried)
      if (index === -1) {
        if (!last) throw this.#unavailable(order)
        if (!last.retryable || retries >= this.#settings.attempts) break
        index = this.#retryCandidate(order, retries)
        if (index === -1) break
        const cooldown = Math.max(0, order[index].provider.cooldownUntil - clock.now())
        const asked = Math.max(last.retryAfterMs ?? 0, cooldown)
        if (asked > this.#settings.retryAfterMaxMs) break
        if (!this.#budget.tryRetry()) break
        const wait = Math.max(
          asked,
          backoffMs(
            retries,
            this.#settings.backoffFactorSeconds,
            this.#settings.maxBackoffSeconds,
            this.#random,
          ),
        )
        retries++
        const waitStart = clock.monotonic()
        try {
          await clock.sleep(wait, signal)
        } catch (err) {
          throw networkFailure(err, signal)
        }
        waitMs += clock.monotonic() - waitStart
      }
      tried |= 1 << index
      const d = order[index]
      attempts++
      const start = clock.monotonic()
      try {
        const value = await d.provider.breaker.run(() => attempt(d, signal))
        const durationMs = clock.monotonic() - start
        upstreamMs += durationMs
        this.#onAttempt?.({ provider: d.provider.name, durationMs, outcome: 'ok', status: 200 })
        return { value, deployment: d, attempts, upstreamMs, waitMs }
      } catch (err) {
        const durationMs = clock.monotonic() - start
        upstreamMs += durationMs
        const failure = networkFailure(err, signal)
        failure.provider = d.provider.name
        this.#onAttempt?.({
          provider: d.provider.name,
          durationMs,
          outcome: failure.kind,
          status: failure.status,
        })
        if (failure.kind === 'aborted') throw failure
        this.#remember(d, failure)
        last = failure
        if (!failure.failover) break
      }
    }
    if (last) last.spent = { attempts, upstreamMs, waitMs }
    throw last
  }

  #available(d: Deployment): boolean {
    return d.provider.breaker.canAttempt() && d.provider.cooldownUntil <= this.#clock.now()
  }

  #nextUntried(order: readonly Deployment[], tried: number): number {
    for (let i = 0; i < order.length && i < 31; i++) {
      if ((tried & (1 << i)) === 0 && this.#available(order[i])) return i
    }
    return -1
  }

  /** Retries rotate over the deployments whose breaker lets a call through. */
  #retryCandidate(order: readonly Deployment[], retries: number): number {
    for (let k = 0; k < order.length; k++) {
      const i = (retries + k) % order.length
      if (order[i].provider.breaker.canAttempt()) return i
    }
    return -1
  }

  #remember(d: Deployment, failure: UpstreamFailure): void {
    const now = this.#clock.now()
    if (failure.status === 429 && failure.retryAfterMs !== undefined) {
      d.provider.cooldownUntil = Math.max(d.provider.cooldownUntil, now + failure.retryAfterMs)
    }
    if (failure.kind === 'breaker_open') return
    d.provider.lastError = {
      at: new Date(now).toISOString(),
      kind: failure.kind,
      status: failure.status,
      message: failure.message,
    }
  }

  /** Nothing could be tried: every deployment is behind an open breaker or cooling down. */
  #unavailable(order: readonly Deployment[]): UpstreamFailure {
    const now = this.#clock.now()
    let wait = Number.POSITIVE_INFINITY
    let allCooling = true
    for (const d of order) {
      const cooling = d.provider.cooldownUntil > now
      if (!cooling) allCooling = false
      const until = Math.max(d.provider.breaker.retryAfterMs(), cooling ? d.provider.cooldownUntil - now : 0)
      wait = Math.min(wait, until)
    }
    const retryAfterMs = Number.isFinite(wait) ? wait : undefined
    if (allCooling) {
      return new UpstreamFailure('status', {
        message: 'every provider for this model asked the proxy to wait (429 Retry-After)',
        status: 429,
        retryAfterMs,
        retryable: false,
        countsAsFailure: false,
      })
    }
    return new UpstreamFailure('breaker_open', {
      message: 'every provider for this model is behind an open circuit breaker',
      retryAfterMs,
      retryable: false,
      countsAsFailure: false,
    })
  }
}
