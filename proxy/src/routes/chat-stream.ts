import type { ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type FlightOpening, flightOpening, type StreamFlight } from '../cache/flights.ts'
import type { CancelSignal } from '../cancel.ts'
import type { Clock } from '../clock.ts'
import type { ChatUpstream, UpstreamRun } from '../context/upstream.ts'
import { ProxyError } from '../errors.ts'
import { asProxyError } from '../http/errors.ts'
import { proxyReason } from '../http/in-flight.ts'
import { serverTiming } from '../http/timing.ts'
import type { CacheStatus } from '../observability/observer.ts'
import type { Route } from '../providers/registry.ts'
import { SSE_PING, sseData } from '../providers/sse.ts'
import type { ChunkSink } from '../providers/stream-pump.ts'
import type { ChatRequest, Usage } from '../providers/types.ts'
import { UpstreamFailure } from '../resilience/failure.ts'
import type { UpstreamStream } from '../resilience/upstream-stream.ts'

/** What a chat request reports to the observer when it ends. */
export interface Tally {
  model: string
  provider: string | undefined
  upstreamMs: number
  waitMs: number
  attempts: number
  ttftMs: number | undefined
  usage: Usage | undefined
  truncated: boolean
}

// No `connection` header: Node sets keep-alive itself, and a draining proxy's `close` must win.
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
}

/**
 * The client side of one SSE answer: headers are committed by the first byte, which is either
 * the first content event or a `: ping` comment sent while the provider is slow to start, so
 * load balancers' idle timeouts do not kill the connection. Until then, a failure can still be
 * answered with a plain error status.
 */
export class SseWriter implements ChunkSink {
  readonly raw: ServerResponse
  readonly #headers: Record<string, string>
  readonly #pingMs: number
  readonly #monotonic: () => number
  #committed = false
  #ended = false
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
    if (this.#ended || this.raw.destroyed) return undefined
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
    if (this.#ended || this.raw.destroyed) return
    this.#ended = true
    this.commit()
    this.raw.end(sseData(JSON.stringify(error.toJSON())))
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

/** The error event that ends a stream the provider failed after it started answering. */
export function streamFailureError(failure: UpstreamFailure): ProxyError {
  const base = { cause: failure, provider: failure.provider }
  switch (failure.kind) {
    case 'timeout':
      return new ProxyError('upstream_timeout', {
        ...base,
        message: 'The provider stopped sending the stream (read timeout); the answer is incomplete.',
      })
    case 'bad_response':
      return new ProxyError('upstream_bad_response', {
        ...base,
        message: `The provider sent an unreadable stream event (${failure.message}); the answer is incomplete.`,
      })
    case 'stream_error':
      return new ProxyError('upstream_error', {
        ...base,
        message: `The provider reported an error in the stream: ${failure.providerError?.message ?? failure.message}`,
      })
    default:
      return new ProxyError('stream_truncated', {
        ...base,
        message: 'The provider ended the stream before it was complete; the answer is incomplete.',
      })
  }
}

/** What one streamed request needs to answer and report itself. */
export interface StreamContext {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  readonly req: ChatRequest
  readonly started: number
  readonly tally: Tally
  readonly clock: Clock
  readonly pingMs: number
  /** The request's cancellation: the client left, or the proxy stopped it (its reason says which). */
  readonly signal: CancelSignal
  readonly finish: (status: number, cache: CacheStatus, errorCode?: string) => void
}

export function openWriter(ctx: StreamContext, cache: CacheStatus): SseWriter {
  return new SseWriter(
    ctx.reply.raw,
    { 'x-request-id': ctx.request.id, 'x-cache': cache },
    ctx.pingMs,
    ctx.clock.monotonic,
  )
}

/** The call failed before its first event: an error status, or an error event if a ping went out. */
function failBeforeStart(
  ctx: StreamContext,
  writer: SseWriter,
  err: unknown,
  cache: CacheStatus,
  gone: boolean,
): void {
  writer.stop()
  const shutdown = proxyReason(ctx.signal)
  const error = shutdown ?? asProxyError(err)
  if (err instanceof UpstreamFailure) spentOn(ctx.tally, err)
  ctx.finish(error.status, cache, error.code)
  if (gone && !shutdown) {
    ctx.reply.raw.destroy()
    return
  }
  if (writer.committed) {
    writer.fail(error)
    return
  }
  if (error.status >= 500) ctx.request.log.warn({ code: error.code, provider: error.provider }, error.message)
  ctx.reply.raw.writeHead(error.status, {
    'content-type': 'application/json',
    'x-request-id': ctx.request.id,
    'x-cache': cache,
    ...error.headers,
  })
  ctx.reply.raw.end(JSON.stringify(error.toJSON()))
}

/** Headers of an answer once its upstream call started: who answered, how, and what it cost. */
export function openingHeaders(
  ctx: StreamContext | { started: number; clock: Clock },
  o: FlightOpening,
  coalesced: boolean,
) {
  const headers: Record<string, string> = {
    'x-proxy-provider': o.provider,
    'x-proxy-attempts': String(o.attempts),
    'server-timing': serverTiming(ctx.clock.monotonic() - ctx.started, o.upstreamMs, o.waitMs),
  }
  if (coalesced) headers['x-cache-coalesced'] = 'true'
  if (o.condensed) Object.assign(headers, condensedHeaders(o.condensed))
  return headers
}

export function condensedHeaders(c: { before: number; after: number }): Record<string, string> {
  return {
    'x-context-condensed': 'true',
    'x-context-tokens-before': String(c.before),
    'x-context-tokens-after': String(c.after),
  }
}

/** Commits the headers; if a ping already did, says the conversation was condensed in a comment. */
function commit(writer: SseWriter, headers: Record<string, string>, o: FlightOpening): void {
  if (writer.committed && o.condensed) {
    writer.write(
      Buffer.from(`: x-context-condensed tokens ${o.condensed.before} -> ${o.condensed.after}\n\n`),
    )
  }
  writer.commit(headers)
}

/** Ends the answer after its stream ended: [DONE] was relayed, or the failure is reported. */
function conclude(
  ctx: StreamContext,
  writer: SseWriter,
  failure: UpstreamFailure | undefined,
  cache: CacheStatus,
): void {
  if (!failure) {
    writer.end()
    ctx.finish(200, cache)
    return
  }
  ctx.tally.truncated = true
  const shutdown = proxyReason(ctx.signal)
  if (failure.kind === 'aborted' && !shutdown) {
    writer.stop()
    ctx.finish(200, cache, 'client_aborted')
    return
  }
  const error = shutdown ?? streamFailureError(failure)
  ctx.request.log.warn(
    { code: error.code, provider: failure.provider, cause: failure.message },
    error.message,
  )
  writer.fail(error)
  ctx.finish(200, cache, error.code)
}

/** A stream that bypasses the cache: relayed from the provider to this one client. */
export async function relayDirect(
  ctx: StreamContext,
  upstream: ChatUpstream,
  route: Route,
  signal: CancelSignal,
  deadline: number,
): Promise<void> {
  const writer = openWriter(ctx, 'BYPASS')
  let out: UpstreamRun<UpstreamStream>
  try {
    out = await upstream.stream(route, ctx.req, signal, deadline)
  } catch (err) {
    return failBeforeStart(ctx, writer, err, 'BYPASS', signal.aborted)
  }
  const opening = flightOpening(out)
  recordOpening(ctx.tally, opening)
  commit(writer, openingHeaders(ctx, opening, false), opening)
  ctx.tally.ttftMs = ctx.clock.monotonic() - ctx.started
  const stream = out.run.value
  const failure = await stream.relay(writer, signal)
  ctx.tally.usage = stream.usage
  conclude(ctx, writer, failure, 'BYPASS')
}

/**
 * A stream answered from a flight (a cacheable miss, maybe coalesced with other clients): the
 * flight's events are relayed at this client's pace, the usage chunk only if it asked for it.
 */
export async function relayFlight(
  ctx: StreamContext,
  flight: StreamFlight,
  joined: boolean,
  cache: CacheStatus,
  gone: () => boolean,
): Promise<void> {
  const writer = openWriter(ctx, cache)
  while (flight.opening === undefined && !flight.ended) await flight.changed(0)
  const opening = flight.opening
  if (opening === undefined) return failBeforeStart(ctx, writer, flight.openError, cache, gone())
  recordOpening(ctx.tally, opening)
  commit(writer, openingHeaders(ctx, opening, joined), opening)
  ctx.tally.ttftMs = ctx.clock.monotonic() - ctx.started
  let i = 0
  for (;;) {
    while (i < flight.chunks.length) {
      if (i !== flight.usageIndex || ctx.req.includeUsage) {
        const wait = writer.write(flight.chunks[i])
        if (wait) await wait
      }
      i++
      if (gone()) {
        const shutdown = proxyReason(ctx.signal)
        if (shutdown) {
          ctx.tally.truncated = true
          writer.fail(shutdown)
          ctx.finish(200, cache, shutdown.code)
        } else {
          writer.stop()
          ctx.finish(200, cache, 'client_aborted')
        }
        return
      }
    }
    if (flight.ended) break
    const wait = flight.changed(i)
    if (wait) await wait
  }
  ctx.tally.usage = flight.usage
  conclude(ctx, writer, flight.failure, cache)
}

/** What a failed request cost upstream, for its log line and metrics. */
export function spentOn(tally: Tally, failure: UpstreamFailure): void {
  tally.provider = failure.provider
  if (failure.spent) {
    tally.attempts = failure.spent.attempts
    tally.upstreamMs = failure.spent.upstreamMs
    tally.waitMs = failure.spent.waitMs
  }
}

/** What the upstream call that answered cost, for the request's log line and metrics. */
export function recordOpening(tally: Tally, opening: FlightOpening): void {
  tally.provider = opening.provider
  tally.attempts = opening.attempts
  tally.upstreamMs = opening.upstreamMs
  tally.waitMs = opening.waitMs
}
