import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../clock.ts'
import { ProxyError } from '../errors.ts'
import { asProxyError } from '../http/errors.ts'
import { serverTiming } from '../http/timing.ts'
import type { CacheStatus, Observer } from '../observability/observer.ts'
import { type AttemptContext, completeOnce, openStream, type StreamStart } from '../providers/attempt.ts'
import type { ProviderRegistry, Route } from '../providers/registry.ts'
import type { ChatRequest, Usage } from '../providers/types.ts'
import type { Execution, Executor } from '../resilience/executor.ts'
import { UpstreamFailure } from '../resilience/failure.ts'
import { parseChatRequest } from './chat-request.ts'
import { pump, SseWriter, streamFailureError } from './chat-stream.ts'

export interface ChatDeps {
  readonly registry: ProviderRegistry
  readonly executor: Executor
  readonly clock: Clock
  readonly observer: Observer
  readonly attempt: AttemptContext
  readonly pingMs: number
}

interface Tally {
  model: string
  provider: string | undefined
  upstreamMs: number
  waitMs: number
  attempts: number
  ttftMs: number | undefined
  usage: Usage | undefined
  truncated: boolean
}

/** POST /v1/chat/completions: OpenAI wire in and out, whatever the provider speaks. */
export function registerChatRoute(app: FastifyInstance, deps: ChatDeps): void {
  const { registry, executor, clock, observer } = deps

  app.post('/v1/chat/completions', async (request: FastifyRequest, reply: FastifyReply) => {
    const started = clock.monotonic()
    const req = parseChatRequest(request.body, request.rawBody ?? Buffer.alloc(0))
    const model: string = req.body.model
    const route = registry.route(model)
    if (!route) {
      throw new ProxyError('model_not_found', {
        param: 'model',
        message: `The model '${model}' does not exist or is not routed by this proxy.`,
      })
    }
    const abort = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort()
    })
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
    const finish = (status: number, cache: CacheStatus, errorCode?: string) =>
      observer.request({
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
        aborted: abort.signal.aborted,
      })

    if (req.stream) {
      reply.hijack()
      await streamAnswer(request, reply, req, route, deps, abort.signal, started, tally, finish)
      return reply
    }
    try {
      const run = await executor.run(
        registry.order(route),
        (d, signal) => completeOnce(d, req, signal, deps.attempt),
        abort.signal,
      )
      Object.assign(tally, {
        provider: run.deployment.provider.name,
        upstreamMs: run.upstreamMs,
        waitMs: run.waitMs,
        attempts: run.attempts,
        usage: run.value.usage,
      })
      reply.headers({
        'content-type': 'application/json',
        'x-request-id': request.id,
        'x-cache': 'BYPASS',
        'x-proxy-provider': run.deployment.provider.name,
        'x-proxy-attempts': String(run.attempts),
        'server-timing': serverTiming(clock.monotonic() - started, run.upstreamMs, run.waitMs),
      })
      finish(200, 'BYPASS')
      return reply.send(run.value.body)
    } catch (err) {
      const error = asProxyError(err)
      if (err instanceof UpstreamFailure) tally.provider = err.provider
      finish(error.status, 'BYPASS', error.code)
      throw error
    }
  })
}

async function streamAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  req: ChatRequest,
  route: Route,
  deps: ChatDeps,
  signal: AbortSignal,
  started: number,
  tally: Tally,
  finish: (status: number, cache: CacheStatus, errorCode?: string) => void,
): Promise<void> {
  const { clock, executor, registry } = deps
  const writer = new SseWriter(
    reply.raw,
    { 'x-request-id': request.id, 'x-cache': 'BYPASS' },
    deps.pingMs,
    clock.monotonic,
  )
  let run: Execution<StreamStart>
  try {
    run = await executor.run(registry.order(route), (d, s) => openStream(d, req, s, deps.attempt), signal)
  } catch (err) {
    writer.stop()
    const error = asProxyError(err)
    if (err instanceof UpstreamFailure) tally.provider = err.provider
    finish(error.status, 'BYPASS', error.code)
    if (signal.aborted) return void reply.raw.destroy()
    if (writer.committed) return writer.fail(error)
    if (error.status >= 500) request.log.warn({ code: error.code, provider: error.provider }, error.message)
    reply.raw.writeHead(error.status, {
      'content-type': 'application/json',
      'x-request-id': request.id,
      ...error.headers,
    })
    return void reply.raw.end(JSON.stringify(error.toJSON()))
  }

  const provider = run.deployment.provider
  tally.provider = provider.name
  tally.attempts = run.attempts
  tally.waitMs = run.waitMs
  tally.upstreamMs = run.upstreamMs
  writer.commit({
    'x-proxy-provider': provider.name,
    'x-proxy-attempts': String(run.attempts),
    'server-timing': serverTiming(clock.monotonic() - started, run.upstreamMs, run.waitMs),
  })
  tally.ttftMs = clock.monotonic() - started
  const failure = await pump(run.value, writer, signal)
  tally.usage = run.value.translator.usage
  if (!failure) {
    writer.end()
    return finish(200, 'BYPASS')
  }
  failure.provider = provider.name
  tally.truncated = true
  if (failure.kind === 'aborted') {
    writer.stop()
    return finish(200, 'BYPASS', 'client_aborted')
  }
  provider.breaker.recordFailure(failure)
  if (failure.kind === 'stream_error') {
    writer.end()
    return finish(200, 'BYPASS', 'upstream_stream_error')
  }
  const error = streamFailureError(failure)
  request.log.warn({ code: error.code, provider: provider.name, cause: failure.message }, error.message)
  writer.fail(error)
  finish(200, 'BYPASS', error.code)
}
