import { Cancel, type CancelSignal } from '../cancel.ts'
import type { Clock } from '../clock.ts'
import { UpstreamFailure } from './failure.ts'
import { RollingCounts } from './rolling-counts.ts'

export interface LimiterSettings {
  /** The most calls in flight at once (the pool's connections: http_client.pool_limits.max_connections). */
  readonly maxConcurrency: number
  /** Adaptive: the fewest calls a throttling provider is still given. */
  readonly minConcurrency: number
  /** Calls that may wait for a free slot (http_client.admission.queue_size). */
  readonly queueSize: number
  /** The longest wait for a slot (http_client.admission.queue_timeout). */
  readonly queueTimeoutMs: number
  /** 429 answers lower the concurrency limit, successes raise it back (AIMD). */
  readonly adaptive: boolean
  /** Share of 429 answers in the window above which calls are refused at once, one probe let through. */
  readonly throttleRatio: number
  readonly windowMs: number
  /**
   * The longest Retry-After a storm's refusals carry, and the longest a provider's Retry-After
   * keeps the storm's probe back (http_client.retry_after_max, the longest the executor waits on
   * one). Absent: no cap but the storm's own end.
   */
  readonly retryAfterMaxMs?: number
}

/**
 * Calls in the window before the share of 429s can mark the provider as throttling; also a run of
 * this many 429s in a row (a storm that begins after a long calm, whose window is still full of
 * successes).
 */
const THROTTLE_MIN_CALLS = 10
const PROBE_INTERVAL_MS = 1000
const SHEDDING_RECENT_MS = 3000
const QUEUE_MARGIN = 0.5
const DECREASE = 0.9
const SERVED = 'served'
const CALLS = 0
const THROTTLED = 1

export type CallOutcome = 'ok' | 'throttled' | 'failed'

interface Waiter {
  /** Served (undefined: the slot is held) or refused. */
  readonly settle: (failure: UpstreamFailure | undefined) => void
  /** The longest this caller may wait (the queue timeout, or less before its deadline). */
  readonly longest: number
  /** Its predicted wait was judged, once the I/O already waiting had been read (or it was served first). */
  judged: boolean
}

/** Runs `run` once the I/O already waiting has been handled (the event loop's check phase). */
export type AfterIo = (run: () => void) => void

const AFTER_IO: AfterIo = (run) => {
  setImmediate(run)
}

const ABORTED = () =>
  new UpstreamFailure('aborted', {
    message: 'the client went away',
    retryable: false,
    countsAsFailure: false,
  })

/**
 * Admission of calls to one provider. A provider that answers 429 is slowed, not shut: each 429
 * lowers the number of concurrent calls by 10 % (at most once per typical call duration), each
 * success at high use raises it by one (Netflix's AIMD limit); calls over the limit wait in a
 * bounded FIFO queue, no longer than the queue timeout or their own deadline. When the queue is
 * full, or the wait it predicts is too long, a call is refused at once (`overloaded`, the caller
 * fails over or sheds), so an overloaded proxy answers fast instead of piling up. When most
 * recent calls were answered 429, or ten in a row (a storm), calls are refused at once with the
 * Retry-After of the provider's latest 429 (`throttled`; capped, and never past the storm's end),
 * and one probe goes through once the Retry-After has passed (at most one a second); the first success ends the storm and gives back the concurrency its
 * onset cut (the storm was not a sign of too many calls). A stray 429 never shuts a provider: it only
 * makes the request that got it wait (see the executor) and trims the concurrency a little.
 */
export class ProviderLimiter {
  readonly #settings: LimiterSettings
  readonly #clock: Clock
  readonly #counts: RollingCounts
  readonly #queue: Waiter[] = []
  readonly #afterIo: AfterIo
  readonly #retryAfterMaxMs: number
  #judging = false
  #limit: number
  #inFlight = 0
  /** Typical duration of a call (exponential average). */
  #serviceMs = 0
  /** While every slot is taken: the typical time between two slots freeing (exponential average). */
  #gapMs = 0
  /** `#gapMs` was measured since every slot was last taken (not in an earlier spell of saturation). */
  #gapFresh = false
  #lastRelease = 0
  #saturatedSince = 0
  #lastDecrease = Number.NEGATIVE_INFINITY
  /** Until when (epoch ms) the provider's latest 429 asked to be left alone, and how long it asked for (capped). */
  #retryAfterUntil = 0
  #retryAfterMs = 0
  #refused = 0
  #queued = 0
  #nextProbe = 0
  #lastShed = Number.NEGATIVE_INFINITY
  #lastThrottled = Number.NEGATIVE_INFINITY
  /** 429s in a row, the limit before the first of them, and whether the run became a storm. */
  #run = 0
  #limitBeforeRun = 0
  #runWasStorm = false

  constructor(settings: LimiterSettings, clock: Clock, afterIo: AfterIo = AFTER_IO) {
    this.#settings = settings
    this.#clock = clock
    this.#afterIo = afterIo
    this.#limit = settings.maxConcurrency
    this.#retryAfterMaxMs = settings.retryAfterMaxMs ?? Number.POSITIVE_INFINITY
    this.#counts = new RollingCounts({ series: 2, windowMs: settings.windowMs }, clock.now)
  }

  /** Most recent calls were answered 429. */
  get throttling(): boolean {
    if (this.#clock.now() - this.#lastThrottled > this.#settings.windowMs) return false
    if (this.#run >= THROTTLE_MIN_CALLS) return true
    const calls = this.#counts.sum(CALLS)
    return calls >= THROTTLE_MIN_CALLS && this.#counts.sum(THROTTLED) >= calls * this.#settings.throttleRatio
  }

  /**
   * Calls were refused for want of a connection (overloaded) in the last few seconds. Refusals in
   * a storm are `throttling`, which ends with the storm.
   */
  get shedding(): boolean {
    return this.#clock.now() - this.#lastShed < SHEDDING_RECENT_MS
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** A slot now, if one is free and nobody waits for one. */
  tryAcquire(): boolean {
    if (this.#inFlight >= Math.floor(this.#limit) && !this.#calmAgain()) return false
    if (this.#queue.length > 0) return false
    if (this.throttling && !this.#probe()) return false
    this.#take()
    return true
  }

  /**
   * Whether the limit, cut by 429s none of which is left in the window, was given back whole and
   * now has room. Successes at high use raise a cut limit one by one, and a proxy whose traffic went
   * quiet after the 429s never raised it: its next burst was shed 503 `overloaded` at the cut limit
   * while the pool sat idle. A window without a 429 says the provider is calm; if it is not, its
   * next 429s cut the limit again.
   */
  #calmAgain(): boolean {
    const max = this.#settings.maxConcurrency
    if (this.#limit >= max || this.#clock.now() - this.#lastThrottled <= this.#settings.windowMs) return false
    this.#limit = max
    this.#grant()
    return this.#inFlight < Math.floor(this.#limit) && this.#queue.length === 0
  }

  #take(): void {
    if (++this.#inFlight === Math.floor(this.#limit)) this.#saturatedSince = this.#clock.monotonic()
  }

  /**
   * How long the caller at `position` in the queue would wait: one slot frees every `gap` ms,
   * where `gap` is the typical time between slots freeing, or the time since the last one freed
   * when that is longer (a provider slowing down, or the first calls of a saturated pool, whose
   * durations are not known yet). The time between slots freeing is measured while every slot is
   * taken; until it has been in this spell of saturation, it is the typical call's duration over
   * the slots (Little's law): a gap measured in an earlier spell says nothing of the calls in
   * flight now (400 ms between slots in a slow spell, kept through a long run of 2 ms calls,
   * refused the callers of the next burst that a pool of 2 ms calls serves within milliseconds).
   */
  #predictedWait(position: number, now: number): number {
    const since = now - Math.max(this.#lastRelease, this.#saturatedSince)
    const gap = this.#gapFresh ? this.#gapMs : this.#serviceMs / Math.max(1, Math.floor(this.#limit))
    return (position + 1) * Math.max(gap, since)
  }

  /** During a storm: whether this call may be the probe (none in flight, the Retry-After over). */
  #probe(): boolean {
    const now = this.#clock.now()
    if (this.#inFlight > 0 || now < this.#nextProbe || now < this.#retryAfterUntil) return false
    this.#nextProbe = now + PROBE_INTERVAL_MS
    return true
  }

  /**
   * A slot: now, after a wait in the queue, or refused. Resolves undefined once the slot is held;
   * returns (or resolves) the failure when refused. `deadline` is the caller's (monotonic ms).
   *
   * A full queue refuses at once. Otherwise the caller's predicted wait is judged at the end of
   * the event loop's turn (#judge), once the I/O already waiting has been read: no slot freed for
   * a while means a slow provider only if the calls' answers are not already waiting, unread, for
   * the proxy itself. After a pause of the proxy's own (a long collection, a VM that did not run
   * it), the callers that came meanwhile are read before the answers that came after them, and
   * judged at once they were all refused (503 overloaded) in front of a provider that had answered
   * (proxy/test/admission.test.ts).
   */
  acquire(
    deadline: number,
    cancel: CancelSignal,
  ): UpstreamFailure | Promise<UpstreamFailure | undefined> | undefined {
    if (this.tryAcquire()) return undefined
    if (this.throttling) return this.#refuse('throttled')
    const now = this.#clock.monotonic()
    const longest = Math.min(this.#settings.queueTimeoutMs, deadline - now)
    if (this.#queue.length >= this.#settings.queueSize)
      return this.#refuse('overloaded', this.#predictedWait(this.#queue.length, now))
    return new Promise((resolve) => {
      const timer = new Cancel()
      const waiter: Waiter = {
        settle: (failure) => {
          timer.abort(SERVED)
          removeAbort()
          resolve(failure)
        },
        longest,
        judged: false,
      }
      const leave = (failure: UpstreamFailure) => {
        const i = this.#queue.indexOf(waiter)
        if (i === -1) return
        this.#queue.splice(i, 1)
        waiter.settle(failure)
      }
      const removeAbort = cancel.onAbort(() => leave(ABORTED()))
      this.#queue.push(waiter)
      this.#clock.sleep(longest, timer).then(
        () => leave(this.#refuse('overloaded', longest)),
        () => {},
      )
      if (!this.#judging) {
        this.#judging = true
        this.#afterIo(() => this.#judge())
      }
    })
  }

  /**
   * The callers that joined the queue in this turn of the event loop and are still waiting, each
   * at its place now: refused when the wait predicted for it is more than half the longest it may
   * wait (a caller let into the queue should be served, not shed late); the others wait on.
   */
  #judge(): void {
    this.#judging = false
    const now = this.#clock.monotonic()
    for (let i = 0; i < this.#queue.length; ) {
      const waiter = this.#queue[i] as Waiter
      if (waiter.judged) {
        i++
        continue
      }
      const predicted = this.#predictedWait(i, now)
      if (predicted > waiter.longest * QUEUE_MARGIN) {
        this.#queue.splice(i, 1)
        waiter.settle(this.#refuse('overloaded', predicted))
        continue
      }
      this.#waited(waiter)
      i++
    }
  }

  /** A caller that waited for its slot (judged to wait, or served before it was judged). */
  #waited(waiter: Waiter): void {
    waiter.judged = true
    this.#queued++
  }

  /** Gives back a slot taken for a call that was never made. */
  cancel(): void {
    this.#inFlight--
    this.#grant()
  }

  /** Ends a call that held a slot. */
  release(outcome: CallOutcome, durationMs: number, retryAfterMs?: number): void {
    const now = this.#clock.monotonic()
    if (this.#inFlight >= Math.floor(this.#limit)) {
      const gap = now - Math.max(this.#lastRelease, this.#saturatedSince)
      this.#gapMs = this.#gapFresh ? this.#gapMs * 0.8 + gap * 0.2 : gap
      this.#gapFresh = true
    }
    this.#lastRelease = now
    // Use as it was while this call ran: a lone call at a limit of one is full use.
    const busy = this.#inFlight
    this.#inFlight--
    this.#counts.add(CALLS)
    this.#serviceMs = this.#serviceMs === 0 ? durationMs : this.#serviceMs * 0.9 + durationMs * 0.1
    if (outcome === 'throttled') {
      // In a storm, calls are refused before they reach the provider: the 429 of a probe says
      // nothing the limit should learn from.
      const storm = this.throttling
      if (this.#run++ === 0) this.#limitBeforeRun = this.#limit
      this.#counts.add(THROTTLED)
      this.#lastThrottled = this.#clock.now()
      this.#askedToWait(retryAfterMs ?? 0)
      if (!storm) this.#decrease()
      if (this.throttling) this.#runWasStorm = true
    } else {
      if (outcome === 'ok') this.#answered(busy)
      this.#run = 0
      this.#runWasStorm = false
    }
    this.#grant()
  }

  /**
   * The provider's latest 429 says how long it wants to be left alone, and replaces what earlier
   * ones said: a provider that asked for a day, then for two seconds, wants two seconds now (the
   * most ever asked, kept until a success, told clients a day for as long as the storm lasted).
   * A 429 without a readable Retry-After asks for nothing, so the probe interval rules. Capped as
   * the executor caps its waits: a provider asking longer is not taken at its word.
   */
  #askedToWait(retryAfterMs: number): void {
    this.#retryAfterMs = Math.min(retryAfterMs, this.#retryAfterMaxMs)
    this.#retryAfterUntil = this.#lastThrottled + this.#retryAfterMs
  }

  /**
   * Milliseconds until the storm is over by itself: it lasts one window past its last 429
   * (`throttling`), after which calls go through whatever the provider asked.
   */
  #stormLeftMs(): number {
    return this.#lastThrottled + this.#settings.windowMs - this.#clock.now()
  }

  /** A call answered: whatever storm there was is over, and the limit it cut is given back. */
  #answered(busy: number): void {
    if (this.#counts.sum(THROTTLED) > 0 && this.throttling) this.#counts.clear(THROTTLED)
    this.#retryAfterUntil = 0
    this.#retryAfterMs = 0
    // The cuts made while the storm began answered the storm, which refusals then took over from.
    if (this.#runWasStorm) this.#limit = Math.max(this.#limit, this.#limitBeforeRun)
    if (this.#settings.adaptive && busy * 2 >= this.#limit)
      this.#limit = Math.min(this.#settings.maxConcurrency, this.#limit + 1)
  }

  snapshot() {
    return {
      limit: Math.floor(this.#limit),
      max: this.#settings.maxConcurrency,
      in_flight: this.#inFlight,
      queued: this.#queue.length,
      throttling: this.throttling,
      shedding: this.shedding,
      typical_call_ms: Math.round(this.#serviceMs * 10) / 10,
      slot_gap_ms: Math.round(this.#gapMs * 10) / 10,
      waited_total: this.#queued,
      refused_total: this.#refused,
    }
  }

  #decrease(): void {
    if (!this.#settings.adaptive) return
    const now = this.#clock.monotonic()
    // One cut per typical call: the 429s of calls sent before the last cut say nothing new.
    if (now - this.#lastDecrease < Math.max(this.#serviceMs, 100)) return
    this.#lastDecrease = now
    this.#limit = Math.max(this.#settings.minConcurrency, this.#limit * DECREASE)
  }

  #grant(): void {
    if (this.#queue.length > 0 && this.throttling) {
      // A storm began: nobody waiting will be let through soon.
      for (const waiter of this.#queue.splice(0)) waiter.settle(this.#refuse('throttled'))
    }
    while (this.#queue.length > 0 && this.#inFlight < Math.floor(this.#limit)) {
      const waiter = this.#queue.shift() as Waiter
      if (!waiter.judged) this.#waited(waiter)
      this.#take()
      waiter.settle(undefined)
    }
    // A slot is free: this spell of saturation is over, and the gap measured in it with it.
    if (this.#inFlight < Math.floor(this.#limit)) this.#gapFresh = false
  }

  #refuse(kind: 'overloaded' | 'throttled', waitMs = 0): UpstreamFailure {
    this.#refused++
    if (kind === 'throttled') {
      // What the provider's latest 429 asked (what it would answer now), but never past the end
      // of the storm: from then on the proxy calls the provider again.
      const retryAfterMs = Math.max(1000, Math.min(this.#retryAfterMs, this.#stormLeftMs()))
      return new UpstreamFailure('throttled', {
        message: 'the provider is answering most calls with 429; refused without a call',
        status: 429,
        retryAfterMs,
        retryable: false,
        failover: true,
        countsAsFailure: false,
      })
    }
    this.#lastShed = this.#clock.now()
    return new UpstreamFailure('overloaded', {
      message: 'every connection to the provider is busy and its queue is full',
      retryAfterMs: Math.max(1000, waitMs),
      retryable: false,
      failover: true,
      countsAsFailure: false,
    })
  }
}
