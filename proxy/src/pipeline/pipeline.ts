import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CachedAnswer } from '../cache/answer.ts'
import type { ChatCache } from '../cache/chat-cache.ts'
import { flightOpening } from '../cache/flights.ts'
import type { CacheMode } from '../cache/policy.ts'
import { sseReplay } from '../cache/replay.ts'
import { Cancel } from '../cancel.ts'
import type { Clock } from '../clock.ts'
import type { ChatUpstream, UpstreamRun } from '../context/upstream.ts'
import { asProxyError } from '../http/errors.ts'
import { type InFlight, proxyReason } from '../http/in-flight.ts'
import { routeFor } from '../providers/chat-request.ts'
import type { ProviderRegistry } from '../providers/registry.ts'
import type { ChatRequest, CompletionResult } from '../providers/types.ts'
import { UpstreamFailure } from '../resilience/failure.ts'
import { hitHeaders, openingHeaders } from './answer-headers.ts'
import type { ProxyCall } from './call.ts'
import type { ClientWire } from './client-wire.ts'
import { SSE_HEADERS } from './sse-writer.ts'
import { relayDirect, relayFlight } from './stream-answer.ts'

export interface PipelineDeps {
  readonly registry: ProviderRegistry
  /** Provider calls with failover, retries, breakers and context condensation. */
  readonly upstream: ChatUpstream
  /** The response cache; undefined when caching is off (every answer is then a BYPASS). */
  readonly cache: ChatCache | undefined
  readonly clock: Clock
  /** Requests in progress, which a draining proxy cancels at its deadline. */
  readonly inFlight: InFlight
  readonly pingMs: number
}

/**
 * The one request path behind every generating route: route -> cache -> upstream (failover,
 * retries, breakers, admission) -> provider adapter -> pool, and the answer back, streamed or
 * not. A route parses and validates its API, hands the request here with its ClientWire, and is
 * done; what the request cost and how it ended is written to its record for the accounting hook.
 */
export class Pipeline {
  readonly #deps: PipelineDeps

  constructor(deps: PipelineDeps) {
    this.#deps = deps
  }

  async answer(
    request: FastifyRequest,
    reply: FastifyReply,
    req: ChatRequest,
    wire: ClientWire,
  ): Promise<FastifyReply> {
    const { clock, cache, inFlight } = this.#deps
    const record = request.record
    record.model = req.body.model
    record.stream = req.stream
    const route = routeFor(this.#deps.registry, req.body.model)
    // Streams are replayed from the cache in the chat API only; the other APIs cache plain answers.
    const cacheable = cache !== undefined && (!req.stream || (req.dialect ?? 'chat') === 'chat')
    const mode: CacheMode = cacheable ? cache.mode(request.headers['cache-control'], req) : 'bypass'
    let key = ''
    if (cache && mode !== 'bypass') {
      key = cache.key(route, req)
      // Cache warming replays chat requests only.
      if ((req.dialect ?? 'chat') === 'chat') cache.touch(key, req)
    }
    if (cache) {
      const found = cache.lookup(key, mode, req)
      const hit = found instanceof Promise ? await found : found
      if (hit) return this.#hit(reply, req, hit, record)
    }
    record.cache = mode === 'use' ? 'MISS' : 'BYPASS'

    // Aborted by the accounting hook when the client leaves before its answer is complete.
    const cancel = new Cancel()
    record.cancel = cancel
    inFlight.add(cancel)
    const call: ProxyCall = {
      id: request.id,
      reply,
      log: request.log,
      record,
      req,
      wire,
      route,
      mode,
      key,
      deadline: this.#deps.upstream.deadline(),
      cancel,
      clock,
      pingMs: this.#deps.pingMs,
    }
    try {
      if (req.stream) {
        reply.hijack()
        if (!cache || mode === 'bypass') await relayDirect(call, this.#deps.upstream)
        else await streamFromFlight(call, cache)
        return reply
      }
      // A whole answer, awaited here rather than in a method of its own: one async frame less
      // for every request, which is alive (and copied by each scavenge) while the provider answers.
      let out: UpstreamRun<CompletionResult>
      let joined = false
      try {
        if (!cache || mode === 'bypass')
          out = await this.#deps.upstream.complete(route, req, cancel, call.deadline)
        else ({ out, joined } = await fromFlight(call, cache))
      } catch (err) {
        return failed(call, err)
      }
      return completed(call, out, joined)
    } finally {
      inFlight.delete(cancel)
    }
  }

  /** An answer from the cache: the stored body, or its SSE replay for a streamed request. */
  #hit(reply: FastifyReply, req: ChatRequest, hit: CachedAnswer, record: ProxyCall['record']): FastifyReply {
    const { clock } = this.#deps
    const durationMs = clock.monotonic() - record.started
    record.cache = 'HIT'
    if (req.stream) record.ttftMs = durationMs
    const headers = hitHeaders(hit, durationMs, clock.now())
    if (req.stream)
      return reply.headers({ ...SSE_HEADERS, ...headers }).send(sseReplay(hit, req.includeUsage))
    const head = replyHeaders(reply)
    head['content-type'] = 'application/json'
    return sendWhole(reply, Object.assign(head, headers), hit.body)
  }
}

/** A cacheable miss: the answer of its flight, which this request may have joined. */
async function fromFlight(
  call: ProxyCall,
  cache: ChatCache,
): Promise<{ out: UpstreamRun<CompletionResult>; joined: boolean }> {
  const entry = cache.completion(call.key, call.route, call.req, call.mode, call.deadline)
  const leave = membership(call.cancel, () => entry.flight.leave())
  try {
    return { out: (await entry.flight.result).upstream, joined: entry.joined }
  } finally {
    leave()
  }
}

/** A cacheable streamed miss: relayed from its flight, which this request may have joined. */
async function streamFromFlight(call: ProxyCall, cache: ChatCache): Promise<void> {
  const { flight, joined } = cache.stream(call.key, call.route, call.req, call.mode, call.deadline)
  const leave = membership(call.cancel, () => flight.leave())
  try {
    await relayFlight(call, flight, joined)
  } finally {
    leave()
  }
}

/** A whole answer's failure: thrown for the error handler, or nothing if the client has left. */
function failed(call: ProxyCall, err: unknown): FastifyReply {
  const { record, reply } = call
  if (err instanceof UpstreamFailure) record.failedAt(err)
  const shutdown = proxyReason(call.cancel)
  if (call.cancel.aborted && !shutdown) {
    // Nobody is left to answer: no error log, no 5xx in the metrics (499, as nginx counts it).
    reply.hijack()
    reply.raw.destroy()
    return reply
  }
  reply.header('x-cache', record.cache)
  throw shutdown ?? asProxyError(err)
}

/** A whole answer sent, with what it cost recorded. */
function completed(call: ProxyCall, out: UpstreamRun<CompletionResult>, joined: boolean): FastifyReply {
  const { record, reply } = call
  const opening = flightOpening(out)
  record.answeredBy(opening)
  record.usage = out.run.value.usage
  const head = replyHeaders(reply)
  head['content-type'] = 'application/json'
  head['x-cache'] = record.cache
  return sendWhole(reply, openingHeaders(call, opening, joined, head), out.run.value.body)
}

/** The headers set on the reply so far (its request id, or a drain's `connection: close`), in a new object. */
function replyHeaders(reply: FastifyReply): Record<string, string> {
  return reply.getHeaders() as Record<string, string>
}

/**
 * A whole answer written straight to the socket with `head` (from replyHeaders, with the answer's
 * own added). A body of bytes needs none of what fastify's send does (serialization, onSend
 * hooks, its own response listeners), and skipping it is a measurable share of a small answer's cost.
 */
function sendWhole(reply: FastifyReply, head: Record<string, string>, body: Buffer): FastifyReply {
  reply.hijack()
  head['content-length'] = String(body.length)
  reply.raw.writeHead(200, head).end(body)
  return reply
}

/**
 * Leaves a flight once: when this client goes away, or when its answer is done. Done, it also takes
 * its listener off the client's cancel: left there, it kept the flight (and whatever the flight
 * still held) reachable for as long as the request's own objects were.
 */
function membership(abort: Cancel, leave: () => void): () => void {
  let left = false
  const once = () => {
    if (left) return
    left = true
    leave()
  }
  const remove = abort.onAbort(once)
  return () => {
    remove()
    once()
  }
}
