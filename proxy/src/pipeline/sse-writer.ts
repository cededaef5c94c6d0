import type { ServerResponse } from 'node:http'
import type { ProxyError } from '../errors.ts'
import { SSE_DONE, SSE_PING } from '../providers/sse.ts'
import type { ChunkSink } from '../providers/stream-call.ts'

// No `connection` header: Node sets keep-alive itself, and a draining proxy's `close` must win.
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
}

/**
 * The client side of one SSE answer: headers are committed by the first byte, which is either
 * the first answer event or a `: ping` comment sent while the provider is slow to start, so
 * load balancers' idle timeouts do not kill the connection. Until then, a failure can still be
 * answered with a plain error status.
 */
export class SseWriter implements ChunkSink {
  readonly raw: ServerResponse
  readonly #headers: Record<string, string>
  readonly #pingMs: number
  readonly #monotonic: () => number
  readonly #errorEvent: (error: ProxyError) => Buffer
  #committed = false
  #ended = false
  #lastWrite = 0
  #timer: NodeJS.Timeout | undefined

  constructor(
    raw: ServerResponse,
    options: {
      headers: Record<string, string>
      pingMs: number
      monotonic: () => number
      errorEvent: (error: ProxyError) => Buffer
    },
  ) {
    this.raw = raw
    this.#headers = options.headers
    this.#pingMs = options.pingMs
    this.#monotonic = options.monotonic
    this.#errorEvent = options.errorEvent
    if (options.pingMs > 0) {
      this.#lastWrite = options.monotonic()
      this.#timer = setInterval(() => this.#ping(), options.pingMs)
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

  /** Writes and resolves when the client can take more (or has gone away), unless told not to wait. */
  write(chunk: Buffer, wait = true): Promise<void> | undefined {
    this.#lastWrite = this.#monotonic()
    if (this.#ended || this.raw.destroyed) return undefined
    if (this.raw.write(chunk) || !wait) return undefined
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

  writeAll(chunks: readonly Buffer[]): Promise<void> | undefined {
    if (chunks[chunks.length - 1] === SSE_DONE) this.#holdForEnd()
    if (chunks.length === 1) return this.write(chunks[0] as Buffer)
    // The events of one read lie side by side in the bytes undici read: sent as views of them, not
    // copied into one buffer (a stream read at once is 16 KB at 64 chunks), and the pieces that are
    // not (the [DONE] the proxy writes itself) gathered by the corked socket into the same write.
    const runs = contiguousRuns(chunks)
    if (runs.length === 1) return this.write(runs[0] as Buffer)
    const socket = this.raw.socket
    socket?.cork()
    const last = runs.length - 1
    // Once a write is past the socket's high-water mark, so is every later one: the last one's wait covers them all.
    for (let i = 0; i < last; i++) this.write(runs[i] as Buffer, false)
    const wait = this.write(runs[last] as Buffer)
    socket?.uncork()
    return wait
  }

  /**
   * [DONE] is the stream's last event: its bytes wait for the end of the response (the chunked
   * encoding's last chunk), which follows within the same turn of the event loop once the provider's
   * stream has ended, so that both leave in one write, as a pass-through's do, instead of two (a
   * system call and a wake-up of the client each). They wait no longer than that turn: `end`
   * flushes them, and if it has not come by the loop's check phase they go out then. The socket is
   * corked, not the response: a corked response's `end` writes its last chunk before the chunks
   * it holds.
   */
  #holdForEnd(): void {
    const raw = this.raw
    const socket = raw.socket
    if (this.#ended || raw.destroyed || socket === null) return
    socket.cork()
    setImmediate(() => {
      if (!raw.writableEnded && !socket.destroyed) socket.uncork()
    })
  }

  /** Ends an answer that already started with an error event, never a silent [DONE]. */
  fail(error: ProxyError): void {
    this.stop()
    if (this.#ended || this.raw.destroyed) return
    this.#ended = true
    this.commit()
    this.raw.end(this.#errorEvent(error))
  }

  end(): void {
    this.stop()
    if (this.#ended || this.raw.destroyed) return
    this.#ended = true
    this.raw.end()
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
 * The chunks, in order, with every run of neighbours that are adjacent views of one buffer joined
 * into one view of it (nothing copied). Adjacent views hold the bytes of their concatenation,
 * whatever made them.
 */
export function contiguousRuns(chunks: readonly Buffer[]): Buffer[] {
  const runs: Buffer[] = []
  let run = chunks[0] as Buffer
  for (let i = 1; i < chunks.length; i++) {
    const next = chunks[i] as Buffer
    if (next.buffer === run.buffer && run.byteOffset + run.length === next.byteOffset)
      run = Buffer.from(run.buffer, run.byteOffset, run.length + next.length)
    else {
      runs.push(run)
      run = next
    }
  }
  runs.push(run)
  return runs
}
