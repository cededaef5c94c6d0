import { EventEmitter } from 'node:events'
import CircuitBreaker from 'opossum'
import type { Clock } from '../clock.ts'
import { WINDOW_BUCKETS, WindowRotation } from './breaker-window.ts'
import { UpstreamFailure } from './failure.ts'

export type BreakerState = 'closed' | 'open' | 'half_open'

/** One call let through by a breaker; its outcome is reported once, when it is known. */
export interface BreakerCall {
  /** Success without a failure; a failure counts when it `countsAsFailure`. Resolves once counted. */
  end(failure?: UpstreamFailure): Promise<void>
}

export interface BreakerSettings {
  readonly enabled: boolean
  /** Calls in the window before the breaker may open (opossum volumeThreshold). */
  readonly failureThreshold: number
  /** Failure percentage in the window above which it opens. */
  readonly errorThresholdPercentage: number
  readonly windowMs: number
  readonly recoveryTimeoutMs: number
  readonly maxRecoveryTimeoutMs: number
  /** Trial calls let through while half-open. */
  readonly halfOpenMaxCalls: number
  /** Share of the trial calls that must succeed to close (1 = all of them). */
  readonly recoverySuccessThreshold: number
  /** Double the recovery timeout each time a half-open trial fails, up to the maximum. */
  readonly dynamicRecoveryTimeout: boolean
}

/**
 * A provider's circuit breaker. opossum keeps the rolling window and decides when to open, and
 * runs the recovery timer; this class adds what opossum lacks: several trial calls while
 * half-open judged against a success threshold, a recovery timeout that backs off while the
 * provider stays down, and a fresh window once the provider has recovered. Percentiles are off:
 * opossum sorts every latency in the window to compute them, on every failure.
 */
export class ProviderBreaker extends EventEmitter<{ state: [BreakerState] }> {
  readonly name: string
  readonly #settings: BreakerSettings
  readonly #clock: Clock
  readonly #opossum: CircuitBreaker<[() => Promise<unknown>], unknown>
  readonly #window: WindowRotation
  #state: BreakerState = 'closed'
  #openedAt = 0
  #recoveryMs: number
  #probesStarted = 0
  #probeSuccesses = 0
  #probeFailures = 0
  #opens = 0

  constructor(name: string, settings: BreakerSettings, clock: Clock) {
    super()
    this.name = name
    this.#settings = settings
    this.#clock = clock
    this.#recoveryMs = settings.recoveryTimeoutMs
    this.#window = new WindowRotation(settings.windowMs, clock.monotonic())
    this.#opossum = new CircuitBreaker((action: () => Promise<unknown>) => action(), {
      name,
      // Given at construction, not by disable(): disable() stops the window's rotation too, and a
      // disabled breaker's window still shows the provider's recent calls.
      enabled: settings.enabled,
      timeout: false,
      resetTimeout: settings.recoveryTimeoutMs,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      volumeThreshold: settings.failureThreshold,
      rollingCountTimeout: settings.windowMs,
      rollingCountBuckets: WINDOW_BUCKETS,
      rotateBucketController: this.#window,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      errorFilter: (err: unknown) => !(err instanceof UpstreamFailure && err.countsAsFailure),
    })
    this.#opossum.on('open', () => this.#enter('open'))
    this.#opossum.on('halfOpen', () => this.#enter('half_open'))
    this.#opossum.on('close', () => this.#enter('closed'))
  }

  get state(): BreakerState {
    return this.#state
  }

  /** Whether a call would be let through now. */
  canAttempt(): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') return false
    return this.#probesStarted < this.#settings.halfOpenMaxCalls
  }

  /** Milliseconds until the breaker lets a trial call through; 0 unless open. */
  retryAfterMs(): number {
    if (this.#state !== 'open') return 0
    return Math.max(0, this.#openedAt + this.#recoveryMs - this.#clock.now())
  }

  /**
   * Lets one call through, or answers why not. The call counts (in the rolling window, or as a
   * half-open trial) when `end` is called: for a stream, when the stream is over, so a stream cut
   * after it started is one failure, never a success and a failure; and a call still in flight
   * neither dilutes nor adds to the window's error rate.
   */
  begin(): BreakerCall | UpstreamFailure {
    if (!this.canAttempt()) return this.#openError()
    if (this.#state === 'closed') {
      const started = this.#clock.monotonic()
      return { end: (failure) => this.#closedCallEnded(started, failure) }
    }
    let settle!: (failure?: UpstreamFailure) => void
    const outcome = new Promise<void>((resolve, reject) => {
      settle = (failure) => (failure ? reject(failure) : resolve())
    })
    const counted = this.#probe(() => outcome).then(noop, noop)
    return {
      end: (failure) => {
        settle(failure)
        return counted
      },
    }
  }

  /**
   * A call let through while closed has ended. A success is recorded as opossum's own `call`
   * records one, by the events its window counts (`fire`, then `success` with the latency, which
   * also closes a half-open circuit as opossum does), without the promises `call` chains for every
   * call: they cost more than the rest of the breaker. A failure goes through `fire`, so that
   * opossum counts it (or, by the error filter, counts a client's error as a success) and decides
   * whether to open.
   */
  #closedCallEnded(started: number, failure: UpstreamFailure | undefined): Promise<void> {
    const opossum = this.#opossum
    const now = this.#clock.monotonic()
    this.#window.advance(now)
    if (failure === undefined) {
      opossum.emit('fire', NO_ARGS)
      if (opossum.enabled) opossum.emit('success', undefined, now - started)
      return COUNTED
    }
    return opossum.fire(() => Promise.reject(failure)).then(noop, noop)
  }

  /** Runs `action` as one call; settles after the breaker has counted it. */
  async run<T>(action: () => Promise<T>): Promise<T> {
    const call = this.begin()
    if (call instanceof UpstreamFailure) throw call
    let result: T
    try {
      result = await action()
    } catch (err) {
      await call.end(err instanceof UpstreamFailure ? err : undefined)
      throw err
    }
    await call.end()
    return result
  }

  snapshot() {
    this.#window.advance(this.#clock.monotonic())
    const stats = this.#opossum.stats
    return {
      state: this.#state,
      opened_at: this.#state === 'closed' ? null : new Date(this.#openedAt).toISOString(),
      retry_after_ms: this.retryAfterMs(),
      recovery_timeout_ms: this.#recoveryMs,
      times_opened: this.#opens,
      window: {
        calls: stats.fires,
        failures: stats.failures,
        successes: stats.successes,
        rejects: stats.rejects,
      },
    }
  }

  shutdown(): void {
    this.#opossum.shutdown()
  }

  async #probe<T>(action: () => Promise<T>): Promise<T> {
    this.#probesStarted++
    try {
      const result = await action()
      this.#probeSuccesses++
      this.#judge()
      return result
    } catch (err) {
      if (err instanceof UpstreamFailure && !err.countsAsFailure) this.#probesStarted--
      else {
        this.#probeFailures++
        this.#judge()
      }
      throw err
    }
  }

  #judge(): void {
    if (this.#state !== 'half_open') return
    const { halfOpenMaxCalls, recoverySuccessThreshold } = this.#settings
    const needed = Math.ceil(halfOpenMaxCalls * recoverySuccessThreshold - 1e-9)
    if (this.#probeSuccesses >= needed) {
      this.#setRecovery(this.#settings.recoveryTimeoutMs)
      this.#opossum.close()
    } else if (this.#probeFailures > halfOpenMaxCalls - needed) {
      if (this.#settings.dynamicRecoveryTimeout) {
        this.#setRecovery(Math.min(this.#recoveryMs * 2, this.#settings.maxRecoveryTimeoutMs))
      }
      this.#opossum.open()
    }
  }

  /** opossum reads options.resetTimeout each time it starts its recovery timer. */
  #setRecovery(ms: number): void {
    this.#recoveryMs = ms
    ;(this.#opossum as unknown as { options: { resetTimeout: number } }).options.resetTimeout = ms
  }

  #enter(state: BreakerState): void {
    if (state === this.#state) return
    this.#state = state
    if (state === 'open') {
      this.#openedAt = this.#clock.now()
      this.#opens++
    } else if (state === 'closed') {
      // Recovery is confirmed: the failures that opened the breaker are history. Left in the window,
      // they reopened it at the first new failure (the five that opened it and one new: 6 of 9).
      this.#window.clear(this.#clock.monotonic())
    }
    this.#probesStarted = 0
    this.#probeSuccesses = 0
    this.#probeFailures = 0
    this.emit('state', state)
  }

  #openError(): UpstreamFailure {
    return new UpstreamFailure('breaker_open', {
      message: `circuit breaker of ${this.name} is ${this.#state.replace('_', '-')}`,
      retryAfterMs: this.retryAfterMs(),
      retryable: false,
      failover: true,
      countsAsFailure: false,
    })
  }
}

function noop(): void {}

const NO_ARGS: unknown[] = []
const COUNTED = Promise.resolve()
