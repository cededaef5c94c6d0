/** A call to a provider as the watch sees it. */
export interface WatchedCall {
  /** Whether the call has settled: the watch forgets it at its next look. */
  readonly settled: boolean
  /** Whether the answer has started (a stream's first answer event); until then the deadline holds. */
  readonly started: boolean
  /** Answer events so far: once started, the call must make progress within the idle limit. */
  readonly progress: number
  /** Waiting on the client (its read paused for backpressure): not idle on the provider's part. */
  readonly waiting?: boolean
  /** Ends the call with `reason` (a timeout). */
  expire(reason: Error): void
}

/**
 * What bounds a call's wait for its answer to start: the request's deadline, or the attempt's own
 * http_client.first_token_timeout when that comes first.
 */
export type StartBound = 'deadline' | 'first_token'

/** Why the watch ended a call: classified as a timeout (`ETIMEDOUT`) by networkFailure. */
export class CallTimeout extends Error {
  readonly code = 'ETIMEDOUT'
  constructor(message: string) {
    super(message)
    this.name = 'CallTimeout'
  }
}

/**
 * A watched call's place in the watch, given back with `forget` when the call settles.
 *
 * A class, not an object literal: V8 tracks an object literal's allocation site and, once most of
 * the objects it made have outlived a young-generation collection (a long stream's entry does),
 * allocates all of them in the old generation from then on ("pretenuring"). An entry there points
 * at its call, even a short one, which is young: that old-to-young reference keeps the call, its
 * answer, its client's response and all they hold alive through every young collection until a
 * full one, long after the call ended. Seen under load (V8 reported the site tenured, one object a
 * stream): 7.7 KB a stream promoted against 0.2 without the watch, young collections of 6 ms
 * instead of 1.2, a full collection every half second; with this class, 0.4 KB and none. V8 keeps
 * no allocation site for the instances of a class.
 */
export class Entry {
  readonly call: WatchedCall
  readonly startBy: number
  readonly bound: StartBound
  progress = 0
  progressAt = Number.NaN
  /** Neighbours in the watch's list; `next` null at the end; `watched` false once forgotten. */
  prev: Entry | null = null
  next: Entry | null
  watched = true

  constructor(call: WatchedCall, startBy: number, bound: StartBound, next: Entry | null) {
    this.call = call
    this.startBy = startBy
    this.bound = bound
    this.next = next
  }
}

/**
 * Bounds what undici's timeouts cannot. Its headersTimeout ends the wait for a response head and
 * its bodyTimeout the gap between two chunks, but a provider that sends its head and then a byte
 * now and then (a JSON body dripping spaces, a stream of `: keep-alive` comments or pings) resets
 * the latter for ever: the client waited on, its request's deadline passed unnoticed, and no
 * other deployment was tried. The watch ends such a call:
 * - before its answer starts (the whole body of a plain answer, the first answer event of a
 *   stream), at the request's deadline (http_client.request_deadline) or, when it comes first,
 *   http_client.first_token_timeout from the attempt's start: a timeout the executor fails over
 *   from while time is left;
 * - once a stream is answering, when no answer event came for `idleMs` (http_client.read_timeout),
 *   however many comments or pings did.
 * One timer looks over every call a few times a second, and only while there are calls: no timer
 * and no clock read per call or per event.
 */
export class CallWatch {
  readonly #monotonic: () => number
  readonly #idleMs: number
  readonly #intervalMs: number
  /** The calls watched, a list linked through their entries: no table to grow, rehash or shrink. */
  #head: Entry | null = null
  #size = 0
  #timer: NodeJS.Timeout | undefined

  constructor(options: { monotonic: () => number; idleMs: number; intervalMs?: number }) {
    this.#monotonic = options.monotonic
    this.#idleMs = options.idleMs
    this.#intervalMs = options.intervalMs ?? 250
  }

  /**
   * Watches `call`, whose answer must start by `startBy` (monotonic ms, set by `bound`). The call gives its entry
   * back (`forget`) as it settles: left for the next look, thousands of finished calls a second
   * would stay reachable, their answers with them, past a young-generation collection.
   */
  watch(call: WatchedCall, startBy: number, bound: StartBound = 'deadline'): Entry {
    const entry = new Entry(call, startBy, bound, this.#head)
    if (this.#head !== null) this.#head.prev = entry
    this.#head = entry
    this.#size++
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(), this.#intervalMs)
      this.#timer.unref()
    }
    return entry
  }

  forget(entry: Entry): void {
    if (!entry.watched) return
    entry.watched = false
    if (entry.prev !== null) entry.prev.next = entry.next
    else this.#head = entry.next
    if (entry.next !== null) entry.next.prev = entry.prev
    entry.prev = null
    entry.next = null
    this.#size--
  }

  /** How many calls are watched (for tests). */
  get size(): number {
    return this.#size
  }

  /** One look over the calls: forgets the settled ones, ends the overdue ones. */
  sweep(): void {
    const now = this.#monotonic()
    for (let entry = this.#head, next: Entry | null; entry !== null; entry = next) {
      next = entry.next
      const { call } = entry
      if (call.settled) {
        this.forget(entry)
        continue
      }
      if (!call.started) {
        if (now >= entry.startBy) {
          this.forget(entry)
          call.expire(
            new CallTimeout(
              entry.bound === 'first_token'
                ? 'the answer had not started within http_client.first_token_timeout'
                : 'the answer had not started at the request deadline (http_client.request_deadline)',
            ),
          )
        }
        continue
      }
      if (Number.isNaN(entry.progressAt) || call.progress !== entry.progress || call.waiting) {
        entry.progress = call.progress
        entry.progressAt = now
      } else if (now - entry.progressAt >= this.#idleMs) {
        this.forget(entry)
        call.expire(
          new CallTimeout(
            `no answer event for ${Math.round(this.#idleMs / 1000)} s (http_client.read_timeout), only comments or pings`,
          ),
        )
      }
    }
    if (this.#size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    while (this.#head !== null) this.forget(this.#head)
  }
}
