import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { CancelSignal } from '../cancel.ts'
import type { CallWatch, Entry, StartBound, WatchedCall } from './call-watch.ts'

/** A whole answer: status, headers and the body in one buffer. */
export interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export class AnswerTooLarge extends Error {
  readonly limit: number
  constructor(limit: number) {
    super(`the provider's answer is larger than ${limit} bytes`)
    this.name = 'AnswerTooLarge'
    this.limit = limit
  }
}

/**
 * An undici dispatch handler that gathers a non-streaming answer into one buffer. Dispatching
 * with it skips what `pool.request` builds for every call (an async resource, a Readable body,
 * listeners on an AbortSignal), which is most of the client-side cost of a small answer.
 */
export class BufferedCall implements Dispatcher.DispatchHandler, WatchedCall {
  readonly #cancel: CancelSignal
  readonly #limits: { success: number; error: number }
  readonly #resolve: (answer: Answer) => void
  readonly #reject: (err: unknown) => void
  #status = 0
  #headers: IncomingHttpHeaders = {}
  #limit = 0
  #size = 0
  #first: Buffer | undefined
  #rest: Buffer[] | undefined
  #removeCancel: (() => void) | undefined
  #settled = false
  #controller: Dispatcher.DispatchController | undefined
  /** Ended by the watch before undici started it (still queued for a connection). */
  #expired: Error | undefined
  #watch: CallWatch | undefined
  #entry: Entry | undefined
  /** A plain answer has started when it is complete: the start bound holds to the last byte. */
  readonly started = false
  readonly progress = 0

  constructor(
    cancel: CancelSignal,
    limits: { success: number; error: number },
    resolve: (answer: Answer) => void,
    reject: (err: unknown) => void,
  ) {
    this.#cancel = cancel
    this.#limits = limits
    this.#resolve = resolve
    this.#reject = reject
  }

  get settled(): boolean {
    return this.#settled
  }

  /** Watched by `watch` until it settles: its answer must be complete by `startBy` (monotonic ms). */
  watchedBy(watch: CallWatch, startBy: number, bound: StartBound): void {
    this.#watch = watch
    this.#entry = watch.watch(this, startBy, bound)
  }

  expire(reason: Error): void {
    if (this.#settled) return
    if (this.#controller) {
      this.#controller.abort(reason)
      return
    }
    this.#expired = reason
    this.onResponseError(undefined as unknown as Dispatcher.DispatchController, reason)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#expired) {
      controller.abort(this.#expired)
      return
    }
    if (this.#cancel.aborted) {
      controller.abort(asError(this.#cancel.reason))
      return
    }
    this.#removeCancel = this.#cancel.onAbort(() => controller.abort(asError(this.#cancel.reason)))
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.#status = statusCode
    this.#headers = headers
    this.#limit = statusCode >= 300 ? this.#limits.error : this.#limits.success
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.length
    if (this.#size > this.#limit) {
      controller.abort(new AnswerTooLarge(this.#limit))
      return
    }
    if (this.#first === undefined) this.#first = chunk
    else if (this.#rest === undefined) this.#rest = [this.#first, chunk]
    else this.#rest.push(chunk)
  }

  onResponseEnd(): void {
    if (this.#settled) return
    this.#settled = true
    if (this.#entry) this.#watch?.forget(this.#entry)
    this.#removeCancel?.()
    const body = this.#rest ? Buffer.concat(this.#rest, this.#size) : (this.#first ?? EMPTY)
    this.#resolve({ status: this.#status, headers: this.#headers, body })
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#settled) return
    this.#settled = true
    if (this.#entry) this.#watch?.forget(this.#entry)
    this.#removeCancel?.()
    this.#reject(err)
  }
}

const EMPTY = Buffer.alloc(0)

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError')
}
