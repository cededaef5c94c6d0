import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { CachedAnswer } from '../cache/answer.ts'
import type { ChatCache } from '../cache/chat-cache.ts'
import type { CacheMode } from '../cache/policy.ts'
import { sseReplay } from '../cache/replay.ts'
import { Cancel } from '../cancel.ts'
import type { Clock } from '../clock.ts'
import type { ChatUpstream, UpstreamRun } from '../context/upstream.ts'
import { asProxyError } from '../http/errors.ts'
import { type InFlight, proxyReason } from '../http/in-flight.ts'
import { serverTiming } from '../http/timing.ts'
import type { CacheStatus, Observer } from '../observability/observer.ts'
import type { ProviderRegistry, Route } from '../providers/registry.ts'
import type { ChatRequest, CompletionResult } from '../providers/types.ts'
import { UpstreamFailure } from '../resilience/failure.ts'
import { parseChatRequest, routeFor } from './chat-request.ts'
import { CHAT_REQUEST_SCHEMA } from './chat-schema.ts'
import {
  condensedHeaders,
  openingHeaders,
  recordOpening,
  relayDirect,
  relayFlight,
  SSE_HEADERS,
  type StreamContext,
  spentOn,
  type Tally,
} from './chat-stream.ts'

export interface ChatDeps {
  readonly registry: ProviderRegistry
  /** Provider calls with failover, retries and context condensation. */
  readonly upstream: ChatUpstream
  /** The response cache; undefined when caching is off (every answer is then a BYPASS). */
  readonly chatCache: ChatCache | undefined
  readonly clock: Clock
  readonly observer: Observer
  readonly pingMs: number
  /** Requests in progress, which a draining proxy cancels at its deadline. */
  readonly inFlight: InFlight
}

const EMPTY = Buffer.alloc(0)

/**
 * POST /v1/chat/completions: OpenAI wire in and out, whatever the provider speaks, behind the
 * response cache (see cache/policy.ts for HIT, MISS and BYPASS).
 */
export function registerChatRoute(app: FastifyInstance, deps: ChatDeps): void {
  app.post(
    '/v1/chat/completions',
    // Every chat answer says how the cache treated it (the handler sets HIT or MISS).
    { config: { cacheStatus: true }, schema: { body: CHAT_REQUEST_SCHEMA } },
    (request, reply) => handleChat(request, reply, deps),
  )
}

async function handleChat(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: ChatDeps,
): Promise<FastifyReply> {
  const { clock, chatCache } = deps
  const started = clock.monotonic()
  const deadline = deps.upstream.deadline()
  const req = parseChatRequest(request.body, request.rawBody ?? EMPTY)
  const model: string = req.body.model
  const route = routeFor(deps.registry, model)
  const mode: CacheMode = chatCache ? chatCache.mode(request.headers['cache-control'], req.body) : 'bypass'
  let key = ''
  if (chatCache && mode !== 'bypass') {
    key = chatCache.key(route, req)
    chatCache.touch(key, req)
  }
  if (chatCache && mode === 'use') {
    const response = chatCache.response
    const hit = response.local(key) ?? (response.l2 ? await response.shared(key) : undefined)
    if (hit) return sendHit(request, reply, req, hit, started, deps)
  } else if (chatCache) chatCache.response.bypasses++

  const abort = new Cancel()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort()
  })
  deps.inFlight.add(abort)
  const tally: Tally = {
    model,
    provider: undefined,
    upstreamMs: 0,
    waitMs: 0,
    attempts: 0,
    ttftMs: undefined,
    usage: undefined,
    truncated: false,
  }
  const finish = (status: number, cache: CacheStatus, errorCode?: string) => {
    deps.inFlight.delete(abort)
    deps.observer.request({
      requestId: request.id,
      route: 'chat',
      model,
      provider: tally.provider,
      status,
      stream: req.stream,
      durationMs: clock.monotonic() - started,
      upstreamMs: tally.upstreamMs,
      waitMs: tally.waitMs,
      attempts: tally.attempts,
      cache,
      ttftMs: tally.ttftMs,
      usage: tally.usage,
      errorCode,
      truncated: tally.truncated,
      aborted: abort.aborted && proxyReason(abort) === undefined,
    })
  }
  const miss: Miss = { route, key, mode, abort, tally, finish, started, deadline }
  if (req.stream) {
    reply.hijack()
    await answerStream(
      { request, reply, req, started, tally, clock, pingMs: deps.pingMs, signal: abort, finish },
      miss,
      deps,
    )
    return reply
  }
  return answerCompletion(reply, req, miss, deps)
}

/** A request the cache could not answer (or was told not to). */
interface Miss {
  readonly route: Route
  readonly key: string
  readonly mode: CacheMode
  readonly abort: Cancel
  readonly tally: Tally
  readonly finish: StreamContext['finish']
  readonly started: number
  /** When the answer must have started (monotonic ms). */
  readonly deadline: number
}

const statusOf = (mode: CacheMode): CacheStatus => (mode === 'use' ? 'MISS' : 'BYPASS')

/** Leaves a flight once: when this client goes away, or when its answer is done. */
function membership(abort: Cancel, leave: () => void): () => void {
  let left = false
  const once = () => {
    if (left) return
    left = true
    leave()
  }
  abort.onAbort(once)
  return once
}

async function answerStream(ctx: StreamContext, miss: Miss, deps: ChatDeps): Promise<void> {
  const { chatCache } = deps
  if (!chatCache || miss.mode === 'bypass')
    return relayDirect(ctx, deps.upstream, miss.route, miss.abort, miss.deadline)
  const { flight, joined } = chatCache.stream(miss.key, miss.route, ctx.req, miss.mode, miss.deadline)
  const leave = membership(miss.abort, () => flight.leave())
  try {
    await relayFlight(ctx, flight, joined, statusOf(miss.mode), () => miss.abort.aborted)
  } finally {
    leave()
  }
}

async function answerCompletion(reply: FastifyReply, req: ChatRequest, miss: Miss, deps: ChatDeps) {
  const { chatCache, clock } = deps
  const { tally, finish } = miss
  const status = statusOf(miss.mode)
  let out: UpstreamRun<CompletionResult>
  let joined = false
  try {
    if (!chatCache || miss.mode === 'bypass')
      out = await deps.upstream.complete(miss.route, req, miss.abort, miss.deadline)
    else {
      const entry = chatCache.completion(miss.key, miss.route, req, miss.mode, miss.deadline)
      joined = entry.joined
      const leave = membership(miss.abort, () => entry.flight.leave())
      try {
        out = (await entry.flight.result).upstream
      } finally {
        leave()
      }
    }
  } catch (err) {
    const error = asProxyError(err)
    if (err instanceof UpstreamFailure) spentOn(tally, err)
    const shutdown = proxyReason(miss.abort)
    if (shutdown) {
      finish(shutdown.status, status, shutdown.code)
      reply.header('x-cache', status)
      throw shutdown
    }
    finish(error.status, status, error.code)
    if (miss.abort.aborted) {
      // Nobody is left to answer: no error log, no 5xx in the metrics (499, as nginx counts it).
      reply.hijack()
      reply.raw.destroy()
      return reply
    }
    reply.header('x-cache', status)
    throw error
  }
  const { run } = out
  const opening = {
    provider: run.deployment.provider.name,
    attempts: run.attempts,
    upstreamMs: run.upstreamMs,
    waitMs: run.waitMs,
    condensed: out.condensed,
  }
  recordOpening(tally, opening)
  tally.usage = run.value.usage
  reply.headers({
    'content-type': 'application/json',
    'x-cache': status,
    ...openingHeaders({ started: miss.started, clock }, opening, joined),
  })
  finish(200, status)
  return reply.send(run.value.body)
}

/** An answer from the cache: the stored body, or its SSE replay for a streamed request. */
function sendHit(
  request: FastifyRequest,
  reply: FastifyReply,
  req: ChatRequest,
  hit: CachedAnswer,
  started: number,
  deps: ChatDeps,
): FastifyReply {
  const { clock } = deps
  const durationMs = clock.monotonic() - started
  const headers: Record<string, string> = {
    'x-cache': 'HIT',
    age: String(Math.max(0, Math.floor((clock.now() - hit.storedAt) / 1000))),
    'server-timing': serverTiming(durationMs, 0, 0),
  }
  if (hit.condensed) Object.assign(headers, condensedHeaders(hit.condensed))
  deps.observer.request({
    requestId: request.id,
    route: 'chat',
    model: req.body.model,
    provider: undefined,
    status: 200,
    stream: req.stream,
    durationMs,
    upstreamMs: 0,
    waitMs: 0,
    attempts: 0,
    cache: 'HIT',
    ttftMs: req.stream ? durationMs : undefined,
    // No provider tokens were spent on a hit.
    usage: undefined,
    errorCode: undefined,
    truncated: false,
    aborted: false,
  })
  if (req.stream) return reply.headers({ ...SSE_HEADERS, ...headers }).send(sseReplay(hit, req.includeUsage))
  return reply.header('content-type', 'application/json').headers(headers).send(hit.body)
}
