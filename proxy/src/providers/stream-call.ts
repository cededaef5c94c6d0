import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { CancelSignal } from '../cancel.ts'
import type { SecretMask } from '../config/secret-mask.ts'
import { networkFailure, UpstreamFailure } from '../resilience/failure.ts'
import type { CallWatch, Entry, StartBound, WatchedCall } from './call-watch.ts'
import { EventTooLarge, empty, type SseParser } from './sse.ts'
import type { ProviderErrorBody, StreamTranslator } from './types.ts'

/** Where a relayed stream goes: a client's SSE writer, or a flight shared by coalesced clients. */
export interface ChunkSink {
  /** Takes one client-ready event; resolves when more can be written (backpressure). */
  write(chunk: Buffer): Promise<void> | undefined
  /**
   * Takes the events translated from one read of the provider's stream, in order. A client's
   * writer sends them in one write: one system call, not one per event.
   */
  writeAll(chunks: readonly Buffer[]): Promise<void> | undefined
}

/** How the head of a streamed answer turned out: a stream that started answering, or the refusal. */
export type StreamOpening =
  | { readonly ok: true }
  | {
      readonly ok: false
      readonly status: number
      readonly headers: IncomingHttpHeaders
      readonly body: Buffer
    }

const ERROR_BODY_LIMIT = 64 * 1024
const EVENT_STREAM = /^\s*text\/event-stream\s*(?:;|$)/i

/**
 * One streamed answer read through undici's dispatch: each piece the provider sends is framed
 * into events, translated, and handed to the sink as it arrives, without a Readable, an async
 * iterator or a promise per piece. It first reads up to the first answer event (`opened`
 * settles then), so that a failure before anything reached the client is a failed attempt that
 * can be failed over; then `relay(sink)` forwards the rest with backpressure (the upstream read
 * pauses while the client cannot take more) and settles with the failure that ended it early, or
 * undefined when the provider finished it properly.
 */
export class StreamCall implements Dispatcher.DispatchHandler, WatchedCall {
  readonly translator: StreamTranslator
  /** Client bytes produced while waiting for the first answer event. */
  readonly first: Buffer[] = []
  readonly opened: Promise<StreamOpening>
  readonly #parser: SseParser
  readonly #cancel: CancelSignal
  readonly #mask: SecretMask
  #controller: Dispatcher.DispatchController | undefined
  #removeCancel: (() => void) | undefined
  #status = 0
  #headers: IncomingHttpHeaders = {}
  #errorBody: Buffer[] | undefined
  /** The content type of a 2xx answer that is not an event stream. */
  #notStream: string | undefined
  #errorBytes = 0
  #resolveOpened!: (opening: StreamOpening) => void
  #rejectOpened!: (failure: UpstreamFailure) => void
  #isOpen = false
  #sink: ChunkSink | undefined
  /** Translated before the sink was attached (between `opened` and `relay`). */
  #pending: Buffer[] = []
  #out: Buffer[] = []
  #ended: Promise<UpstreamFailure | undefined> | undefined
  #end: ((failure: UpstreamFailure | undefined) => void) | undefined
  /** How the stream ended (set once). */
  #result: { failure: UpstreamFailure | undefined } | undefined
  /** Ended by the watch before undici started it (still queued for a connection). */
  #expired: Error | undefined
  /** Settled before it answered: `opened` rejected, or resolved with the provider's refusal. */
  #refused = false
  #watch: CallWatch | undefined
  #entry: Entry | undefined
  /** The read is paused until the client takes what was written: the wait is not the provider's. */
  #waiting = false

  constructor(translator: StreamTranslator, parser: SseParser, cancel: CancelSignal, mask: SecretMask) {
    this.translator = translator
    this.#parser = parser
    this.#cancel = cancel
    this.#mask = mask
    // The executor keeps the settling functions as they are, the bookkeeping around them is in
    // methods. With closures made here instead (around them and `this`), every stream's objects
    // outlived young-generation collections and were promoted, though nothing held them once the
    // stream had ended (a heap snapshot found only the streams in flight): at 1,000 streams/s, with
    // the call watch off, 4.4 KB a stream promoted against 0.1, young collections of 4 ms instead of
    // 1, a full one every few seconds (node 24, V8 13.6).
    this.opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve
      this.#rejectOpened = reject
    })
  }

  #open(opening: StreamOpening): void {
    if (!opening.ok) this.#settleRefused()
    this.#resolveOpened(opening)
  }

  #fail(failure: UpstreamFailure): void {
    this.#settleRefused()
    this.#rejectOpened(failure)
  }

  /** Forwards the rest of the stream into `sink`; resolves with the failure that ended it, if any. */
  relay(sink: ChunkSink): Promise<UpstreamFailure | undefined> {
    this.#sink = sink
    this.#ended ??= new Promise((resolve) => {
      this.#end = resolve
    })
    const pending = this.#pending
    this.#pending = []
    const out = this.first.length > 0 ? [...this.first, ...pending] : pending
    if (out.length > 0) this.#write(out)
    if (this.#result) (this.#end as (failure: UpstreamFailure | undefined) => void)(this.#result.failure)
    return this.#ended
  }

  get settled(): boolean {
    return this.#result !== undefined || this.#refused
  }

  /** Watched by `watch` until it settles: its first answer event must come by `startBy` (monotonic ms). */
  watchedBy(watch: CallWatch, startBy: number, bound: StartBound): void {
    this.#watch = watch
    this.#entry = watch.watch(this, startBy, bound)
  }

  #settleRefused(): void {
    this.#refused = true
    if (this.#entry) this.#watch?.forget(this.#entry)
  }

  get started(): boolean {
    return this.#isOpen
  }

  get progress(): number {
    return this.translator.answerEvents
  }

  get waiting(): boolean {
    return this.#waiting
  }

  expire(reason: Error): void {
    if (this.settled) return
    if (this.#controller) this.#controller.abort(reason)
    else {
      this.#expired = reason
      this.#failWith(networkFailure(reason))
    }
  }

  /** Stops reading (nobody is left to receive the stream). */
  abort(reason: Error): void {
    this.#controller?.abort(reason)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#expired) controller.abort(this.#expired)
    else if (this.#cancel.aborted) controller.abort(asError(this.#cancel.reason))
    else this.#removeCancel = this.#cancel.onAbort(() => controller.abort(asError(this.#cancel.reason)))
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.#status = status
    this.#headers = headers
    if (status >= 300) this.#errorBody = []
    else {
      // A stream request answered with something else (a plain JSON answer, an HTML page) holds no
      // event: read as a stream it ended "before its first event", a cut worth retrying on the same
      // provider, which would answer the same way. It is an unreadable answer, failed over at once.
      const type = headers['content-type']
      if (typeof type === 'string' && !EVENT_STREAM.test(type)) {
        this.#errorBody = []
        this.#notStream = type
      }
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#errorBody) {
      this.#errorBytes += chunk.length
      if (this.#errorBytes <= ERROR_BODY_LIMIT) this.#errorBody.push(chunk)
      return
    }
    const translator = this.translator
    if (translator.done || translator.error) return // read to the end so the connection can be reused
    const out = this.#isOpen ? this.#out : this.first
    try {
      this.#parser.feed(chunk, translator, out)
    } catch (err) {
      this.#failWith(unreadable(err))
      controller.abort(err as Error)
      return
    }
    if (!this.#isOpen) {
      if (translator.answerEvents > 0 || translator.done || translator.error) {
        this.#isOpen = true
        this.#open({ ok: true })
      }
      return
    }
    if (out.length === 0) return
    if (this.#sink) {
      this.#write(out)
      empty(out)
    } else {
      this.#pending.push(...out)
      empty(out)
    }
    if (translator.error) controller.abort(new Error('the provider reported an error in the stream'))
  }

  onResponseEnd(): void {
    this.#removeCancel?.()
    if (this.#notStream !== undefined) {
      this.#fail(
        new UpstreamFailure('bad_response', {
          message: `the provider answered a stream request with ${this.#notStream}, not text/event-stream`,
          retryable: false,
          failover: true,
          countsAsFailure: true,
        }),
      )
      return
    }
    if (this.#errorBody) {
      this.#open({
        ok: false,
        status: this.#status,
        headers: this.#headers,
        body: Buffer.concat(this.#errorBody),
      })
      return
    }
    if (!this.#isOpen) {
      this.#fail(
        new UpstreamFailure('stream_cut', {
          message: 'the provider ended the stream before its first event',
          retryable: true,
          countsAsFailure: true,
        }),
      )
      return
    }
    this.#finish(this.translator.done ? undefined : ended(this.translator, this.#mask))
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.#removeCancel?.()
    // After the terminator, or an error event the proxy stopped reading at, the stream is judged already.
    if (this.#isOpen && (this.translator.done || this.translator.error))
      this.#finish(this.translator.done ? undefined : ended(this.translator, this.#mask))
    else this.#failWith(networkFailure(err, this.#cancel))
  }

  #write(chunks: readonly Buffer[]): void {
    const wait = (this.#sink as ChunkSink).writeAll(chunks)
    if (wait === undefined) return
    const controller = this.#controller
    this.#waiting = true
    controller?.pause()
    wait.then(() => {
      this.#waiting = false
      controller?.resume()
    })
  }

  #failWith(failure: UpstreamFailure): void {
    if (this.#isOpen) this.#finish(failure)
    else this.#fail(failure)
  }

  /** Settles the relay once: at once if a sink is attached, else when `relay` is called. */
  #finish(failure: UpstreamFailure | undefined): void {
    if (this.#result) return
    this.#result = { failure }
    if (this.#entry) this.#watch?.forget(this.#entry)
    if (this.#end) this.#end(failure)
  }
}

/** How a stream that had started answering ended without its terminator. */
function ended(translator: StreamTranslator, mask: SecretMask): UpstreamFailure {
  if (translator.error) {
    const providerError = maskedError(translator.error, mask)
    return new UpstreamFailure('stream_error', {
      message: `provider stream error: ${providerError.message}`,
      providerError,
      retryable: false,
      countsAsFailure: true,
    })
  }
  return new UpstreamFailure('stream_cut', {
    message: `the provider ended the stream after ${translator.answerEvents} answer events without its terminator`,
    retryable: false,
    countsAsFailure: true,
  })
}

/** A provider's error event with its credentials masked (it may quote them). */
export function maskedError(error: ProviderErrorBody, mask: SecretMask): ProviderErrorBody {
  return { ...error, message: mask.mask(error.message) }
}

function unreadable(err: unknown): UpstreamFailure {
  if (err instanceof SyntaxError || err instanceof EventTooLarge) {
    return new UpstreamFailure('bad_response', {
      message: err.message,
      retryable: false,
      countsAsFailure: true,
      cause: err,
    })
  }
  return networkFailure(err)
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError')
}
