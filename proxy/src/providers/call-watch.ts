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

/** Why the watch ended a call: classified as a timeout (`ETIMEDOUT`) by networkFailure. */
export class CallTimeout extends Error {
  readonly code = 'ETIMEDOUT'
  constructor(message: string) {
    super(message)
    this.name = 'CallTimeout'
  }
}

interface Entry {
  readonly call: WatchedCall
  readonly startBy: number
  progress: number
  progressAt: number
}

/**
 * Bounds what undici's timeouts cannot. Its headersTimeout ends the wait for a response head and
 * its bodyTimeout the gap between two chunks, but a provider that sends its head and then a byte
 * now and then (a JSON body dripping spaces, a stream of `: keep-alive` comments or pings) resets
 * the latter for ever: the client waited on, its request's deadline passed unnoticed, and no
 * other deployment was tried. The watch ends such a call:
 * - before its answer starts (the whole body of a plain answer, the first answer event of a
 *   stream), at the request's deadline (http_client.request_deadline), a timeout the executor
 *   fails over from while time is left;
 * - once a stream is answering, when no answer event came for `idleMs` (http_client.read_timeout),
 *   however many comments or pings did.
 * One timer looks over every call a few times a second, and only while there are calls: no timer
 * and no clock read per call or per event.
 */
export class CallWatch {
  readonly #monotonic: () => number
  readonly #idleMs: number
  readonly #intervalMs: number
  readonly #entries = new Set<Entry>()
  #timer: NodeJS.Timeout | undefined

  constructor(options: { monotonic: () => number; idleMs: number; intervalMs?: number }) {
    this.#monotonic = options.monotonic
    this.#idleMs = options.idleMs
    this.#intervalMs = options.intervalMs ?? 250
  }

  /** Watches `call`, whose answer must start by `startBy` (monotonic ms). */
  watch(call: WatchedCall, startBy: number): void {
    this.#entries.add({ call, startBy, progress: 0, progressAt: Number.NaN })
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(), this.#intervalMs)
      this.#timer.unref()
    }
  }

  /** How many calls are watched (for tests). */
  get size(): number {
    return this.#entries.size
  }

  /** One look over the calls: forgets the settled ones, ends the overdue ones. */
  sweep(): void {
    const now = this.#monotonic()
    for (const entry of this.#entries) {
      const { call } = entry
      if (call.settled) {
        this.#entries.delete(entry)
        continue
      }
      if (!call.started) {
        if (now >= entry.startBy) {
          this.#entries.delete(entry)
          call.expire(
            new CallTimeout(
              'the answer had not started at the request deadline (http_client.request_deadline)',
            ),
          )
        }
        continue
      }
      if (Number.isNaN(entry.progressAt) || call.progress !== entry.progress || call.waiting) {
        entry.progress = call.progress
        entry.progressAt = now
      } else if (now - entry.progressAt >= this.#idleMs) {
        this.#entries.delete(entry)
        call.expire(
          new CallTimeout(
            `no answer event for ${Math.round(this.#idleMs / 1000)} s (http_client.read_timeout), only comments or pings`,
          ),
        )
      }
    }
    if (this.#entries.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.#entries.clear()
  }
}
