import type { CancelSignal } from '../cancel.ts'
import type { Clock, Random } from '../clock.ts'
import type { Deployment } from '../providers/registry.ts'
import { backoffMs } from './backoff.ts'
import { type FailureKind, networkFailure, UpstreamFailure } from './failure.ts'
import { Lease } from './lease.ts'
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
  /** Time spent in calls to providers, all attempts together (to the start of a held call). */
  readonly upstreamMs: number
  /** Time spent waiting: for a connection in a provider's queue, between attempts (backoff, Retry-After). */
  readonly waitMs: number
  /** The answering call, still open, when `hold` was asked: its owner ends it (a stream, when it is over). */
  readonly lease: Lease | undefined
}

/**
 * One call of `attempt` to one deployment; `deadline` (monotonic ms) bounds how long it may wait,
 * `subject` is RunOptions.subject (what to send).
 */
export type Attempt<T, S = unknown> = (
  d: Deployment,
  signal: CancelSignal,
  deadline: number,
  subject: S,
) => Promise<T>

export interface RunOptions<S = unknown> {
  /** Monotonic ms by which the answer must have started (http_client.request_deadline). */
  readonly deadline: number
  /** Keep the answering call open (a stream): its outcome is recorded when the lease ends. */
  readonly hold?: boolean
  /** Handed to every attempt as it is: an attempt made once need not close over a request. */
  readonly subject?: S
}

/**
 * Runs one request over a route's deployments: each deployment once in order (failover, no
 * wait), then up to `attempts` retries with full-jitter backoff, or the wait the provider asked
 * for with Retry-After (which governs this request's retry of that provider, nothing else).
 * Deployments behind an open breaker are skipped; a deployment whose connections are all busy is
 * passed over for one that can take the call now, and waited for (in its limiter's queue) only
 * when none can. Everything happens before the request's deadline. Throws the last failure.
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

  async run<T, S>(
    order: readonly Deployment[],
    attempt: Attempt<T, S>,
    signal: CancelSignal,
    options: RunOptions<S>,
  ): Promise<Execution<T>> {
    const clock = this.#clock
    const { deadline } = options
    this.#budget.recordRequest()
    let tried = 0 // bit i: order[i] was tried in the first pass
    let last: UpstreamFailure | undefined
    // Per deployment, the wall-clock time before which this request may not call it again (Retry-After).
    let notBefore: number[] | undefined
    let attempts = 0
    let retries = 0
    let upstreamMs = 0
    let waitMs = 0

    for (;;) {
      if (clock.monotonic() >= deadline) {
        last = deadlinePassed(last)
        break
      }
      let index = this.#startNow(order, tried)
      if (index === -1) {
        const busy = this.#firstUntried(order, tried)
        if (busy !== -1) {
          tried |= 1 << busy
          const waitStart = clock.monotonic()
          const refused = await admit(order[busy], deadline, signal)
          waitMs += clock.monotonic() - waitStart
          if (refused) {
            if (refused.kind === 'aborted') throw refused
            last = refused
            continue
          }
          index = busy
        }
      } else tried |= 1 << index

      if (index === -1) {
        // Every deployment had its chance: retries, if the last failure is worth one.
        if (!last) throw this.#unavailable(order)
        if (!last.retryable || retries >= this.#settings.attempts) break
        index = this.#retryCandidate(order, retries)
        if (index === -1) break
        // A provider in a 429 storm will not answer this retry either: say so now.
        if (order[index].provider.limiter.throttling) break
        const asked = Math.max(0, (notBefore?.[index] ?? 0) - clock.now())
        if (asked > this.#settings.retryAfterMaxMs) break
        const { backoffFactorSeconds, maxBackoffSeconds } = this.#settings
        const wait = Math.max(
          asked,
          backoffMs(retries, backoffFactorSeconds, maxBackoffSeconds, this.#random),
        )
        if (clock.monotonic() + wait >= deadline) break
        if (!this.#budget.tryRetry()) break
        retries++
        const waitStart = clock.monotonic()
        try {
          await clock.sleep(wait, signal)
        } catch (err) {
          throw networkFailure(err, signal)
        }
        const refused = await admit(order[index], deadline, signal)
        waitMs += clock.monotonic() - waitStart
        if (refused) {
          if (refused.kind === 'aborted') throw refused
          last = refused
          break
        }
      }

      const d = order[index]
      const call = d.provider.breaker.begin()
      if (call instanceof UpstreamFailure) {
        // The breaker opened while this request waited for a connection.
        d.provider.limiter.cancel()
        last = call
        continue
      }
      attempts++
      const lease = new Lease(d, call, clock, this.#onAttempt)
      try {
        const value = await attempt(d, signal, deadline, options.subject as S)
        if (options.hold) {
          upstreamMs += lease.elapsed()
          return { value, deployment: d, attempts, upstreamMs, waitMs, lease }
        }
        upstreamMs += lease.end()
        return { value, deployment: d, attempts, upstreamMs, waitMs, lease: undefined }
      } catch (err) {
        const failure = networkFailure(err, signal)
        upstreamMs += lease.end(failure)
        if (failure.kind === 'aborted') throw failure
        if (failure.retryAfterMs !== undefined) {
          notBefore ??= []
          notBefore[index] = clock.now() + failure.retryAfterMs
        }
        last = failure
        if (!failure.failover) break
      }
    }
    const failure = last as UpstreamFailure
    failure.spent = { attempts, upstreamMs, waitMs }
    throw failure
  }

  /** The first untried deployment that can take a call right now (its limiter slot is then held). */
  #startNow(order: readonly Deployment[], tried: number): number {
    for (let i = 0; i < order.length && i < 31; i++) {
      if ((tried & (1 << i)) !== 0) continue
      const p = order[i].provider
      if (p.breaker.canAttempt() && p.limiter.tryAcquire()) return i
    }
    return -1
  }

  /** The first untried deployment whose breaker lets a call through (busy or not). */
  #firstUntried(order: readonly Deployment[], tried: number): number {
    for (let i = 0; i < order.length && i < 31; i++) {
      if ((tried & (1 << i)) === 0 && order[i].provider.breaker.canAttempt()) return i
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

  /** Nothing could be tried: every deployment is behind an open breaker. */
  #unavailable(order: readonly Deployment[]): UpstreamFailure {
    let wait = Number.POSITIVE_INFINITY
    for (const d of order) wait = Math.min(wait, d.provider.breaker.retryAfterMs())
    return new UpstreamFailure('breaker_open', {
      message: 'every provider for this model is behind an open circuit breaker',
      retryAfterMs: Number.isFinite(wait) ? wait : undefined,
      retryable: false,
      countsAsFailure: false,
    })
  }
}

/** A slot in the deployment's limiter, waiting in its queue if need be; the refusal otherwise. */
async function admit(
  d: Deployment,
  deadline: number,
  signal: CancelSignal,
): Promise<UpstreamFailure | undefined> {
  const admission = d.provider.limiter.acquire(deadline, signal)
  const refused = admission instanceof Promise ? await admission : admission
  if (refused) refused.provider = d.provider.name
  return refused
}

/** Out of time: a provider's own refusal (429 with its Retry-After) says more than a timeout. */
function deadlinePassed(last: UpstreamFailure | undefined): UpstreamFailure {
  if (last?.status === 429) return last
  return new UpstreamFailure('timeout', {
    message: `the request deadline (http_client.request_deadline) passed${last ? ` after: ${last.message}` : ''}`,
    retryable: false,
    countsAsFailure: false,
    cause: last,
  })
}
