import type { ServerResponse } from 'node:http'
import { ProxyError } from '../errors.ts'
import type { StreamStart } from '../providers/attempt.ts'
import { SSE_PING, sseData } from '../providers/sse.ts'
import { networkFailure, UpstreamFailure } from '../resilience/failure.ts'

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
}

/**
 * The client side of one SSE answer: headers are committed by the first byte, which is either
 * the first content event or a `: ping` comment sent while the provider is slow to start, so
 * load balancers' idle timeouts do not kill the connection. Until then, a failure can still be
 * answered with a plain error status.
 */
export class SseWriter {
  readonly raw: ServerResponse
  readonly #headers: Record<string, string>
  readonly #pingMs: number
  readonly #monotonic: () => number
  #committed = false
  #lastWrite = 0
  #timer: NodeJS.Timeout | undefined

  constructor(raw: ServerResponse, headers: Record<string, string>, pingMs: number, monotonic: () => number) {
    this.raw = raw
    this.#headers = headers
    this.#pingMs = pingMs
    this.#monotonic = monotonic
    if (pingMs > 0) {
      this.#lastWrite = monotonic()
      this.#timer = setInterval(() => this.#ping(), pingMs)
    }
  }

  get committed(): boolean {
    return this.#committed
  }

  commit(extra?: Record<string, string>): void {
    if (this.#committed) return
    this.#committed = true
    this.raw.writeHead(
      200,
      extra ? { ...SSE_HEADERS, ...this.#headers, ...extra } : { ...SSE_HEADERS, ...this.#headers },
    )
  }

  /** Writes and resolves when the client can take more (or has gone away). */
  write(chunk: Buffer): Promise<void> | undefined {
    this.#lastWrite = this.#monotonic()
    if (this.raw.destroyed) return undefined
    if (this.raw.write(chunk)) return undefined
    return new Promise((resolve) => {
      const done = () => {
        this.raw.off('drain', done)
        this.raw.off('close', done)
        resolve()
      }
      this.raw.on('drain', done)
      this.raw.on('close', done)
    })
  }

  /** Ends an answer that already started with an error event, never a silent [DONE]. */
  fail(error: ProxyError): void {
    this.stop()
    if (this.raw.destroyed) return
    this.raw.end(sseData(JSON.stringify(error.toJSON())))
  }

  end(): void {
    this.stop()
    if (!this.raw.destroyed) this.raw.end()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  #ping(): void {
    if (this.raw.destroyed) {
      this.stop()
      return
    }
    if (this.#monotonic() - this.#lastWrite < this.#pingMs * 0.9) return
    this.commit()
    this.write(SSE_PING)
  }
}

/**
 * Forwards the rest of a provider stream event by event, translating on the way. Resolves with
 * the failure that ended it early, or undefined when the provider finished it properly. After
 * the terminator the body is still read to its end so the connection can be reused.
 */
export async function pump(
  start: StreamStart,
  writer: SseWriter,
  signal: AbortSignal,
): Promise<UpstreamFailure | undefined> {
  const { translator, parser, chunks } = start
  const out: Buffer[] = []
  try {
    for (const chunk of start.first) await writer.write(chunk)
    for (;;) {
      if (translator.error) break
      const next = await chunks.next()
      if (next.done) break
      if (translator.done) continue
      for (const event of parser.push(next.value)) translator.translate(event, out)
      for (let i = 0; i < out.length; i++) {
        const wait = writer.write(out[i])
        if (wait) await wait
      }
      out.length = 0
    }
  } catch (err) {
    if (translator.done) return undefined
    start.body.destroy()
    if (err instanceof SyntaxError) {
      return new UpstreamFailure('bad_response', {
        message: err.message,
        retryable: false,
        countsAsFailure: true,
      })
    }
    return networkFailure(err, signal)
  }
  if (translator.done) return undefined
  start.body.destroy()
  if (translator.error) {
    return new UpstreamFailure('stream_error', {
      message: `provider stream error: ${translator.error.message}`,
      providerError: translator.error,
      retryable: false,
      countsAsFailure: true,
    })
  }
  return new UpstreamFailure('stream_cut', {
    message: `the provider ended the stream after ${translator.contentEvents} events without its terminator`,
    retryable: false,
    countsAsFailure: true,
  })
}

export function streamFailureError(failure: UpstreamFailure): ProxyError {
  const code = failure.kind === 'timeout' ? 'upstream_timeout' : 'stream_truncated'
  return new ProxyError(code, {
    message:
      code === 'upstream_timeout'
        ? 'The provider stopped sending the stream (read timeout); the answer is incomplete.'
        : 'The provider ended the stream before it was complete; the answer is incomplete.',
    cause: failure,
    provider: failure.provider,
  })
}
