// One request of the native engine on an undici pool: send, read the answer (as SSE when streaming),
// and turn what happened into an Outcome. The latency origin is given by the caller: the intended
// send time in the open model, the actual send time in the closed model.
import type { Dispatcher } from 'undici'
import type { RequestSpec } from '../scenario.ts'
import { answerFailure } from './answer.ts'
import type { CacheStatus, Outcome } from './recorder.ts'
import { SseMeter } from './sse.ts'

export type CallContext = {
  readonly dispatcher: Dispatcher
  /** Prepended to the scenario's path (the target URL's path, without a trailing slash). */
  readonly pathPrefix: string
  readonly now: () => number
  readonly signal: AbortSignal
}

export async function call(ctx: CallContext, spec: RequestSpec, startMs: number): Promise<Outcome> {
  let meter: SseMeter | null = null
  try {
    const response = await ctx.dispatcher.request({
      method: spec.method,
      path: ctx.pathPrefix + spec.path,
      headers: spec.headers,
      body: spec.body,
      signal: ctx.signal,
    })
    const answer = readAnswerHeaders(response.headers)
    if (response.statusCode < 200 || response.statusCode >= 300) {
      await response.body.dump({ limit: 1 << 20 })
      return outcome(ctx, spec, startMs, false, `http_${response.statusCode}`, null, answer)
    }
    if (!spec.stream) {
      // Read to the last byte (the latency is the time to the complete answer), and judged: a 200
      // with an error object, an empty or a cut JSON body is a failure (answer.ts).
      const text = await response.body.text()
      const failure = answerFailure(response.statusCode, contentTypeOf(response.headers), text)
      return outcome(ctx, spec, startMs, failure === null, failure, null, answer)
    }
    meter = new SseMeter(startMs, ctx.now)
    for await (const chunk of response.body) meter.push(chunk as Uint8Array)
    const verdict = meter.finish()
    return outcome(ctx, spec, startMs, verdict.kind === null, verdict.kind, verdict, answer)
  } catch (error) {
    // A stream cut mid-way (reset, timeout) keeps what it measured, and is truncated.
    const verdict = meter?.finish() ?? null
    const stream = verdict ? { ...verdict, truncated: true } : null
    return outcome(ctx, spec, startMs, false, errorKind(error, ctx.signal), stream, NO_ANSWER_HEADERS)
  }
}

function outcome(
  ctx: CallContext,
  spec: RequestSpec,
  startMs: number,
  ok: boolean,
  kind: string | null,
  stream: Outcome['stream'],
  answer: AnswerHeaders,
): Outcome {
  const endMs = ctx.now()
  return { scenario: spec.scenario, ok, kind, latencyMs: endMs - startMs, endMs, stream, ...answer }
}

/** What the proxy says about an answer in its headers: its own time, the upstream time, the cache. */
export type AnswerHeaders = {
  readonly proxyMs: number
  readonly upstreamMs: number
  readonly cache: CacheStatus
}

const NO_ANSWER_HEADERS: AnswerHeaders = { proxyMs: Number.NaN, upstreamMs: Number.NaN, cache: 'none' }
const SERVER_TIMING_PROXY = /(?:^|,)\s*proxy;dur=([\d.]+)/
const SERVER_TIMING_UPSTREAM = /(?:^|,)\s*upstream;dur=([\d.]+)/
const CACHE: Readonly<Record<string, CacheStatus>> = { HIT: 'hit', MISS: 'miss', BYPASS: 'bypass' }

type HeaderValue = string | string[] | number | undefined

/** Reads Server-Timing (`proxy;dur=`, `upstream;dur=`) and x-cache from a response's headers. */
export function readAnswerHeaders(headers: Readonly<Record<string, HeaderValue>>): AnswerHeaders {
  const timing = headers['server-timing']
  const text = timing === undefined ? '' : Array.isArray(timing) ? timing.join(',') : String(timing)
  const cache = headers['x-cache']
  const proxy = SERVER_TIMING_PROXY.exec(text)
  const upstream = SERVER_TIMING_UPSTREAM.exec(text)
  return {
    proxyMs: proxy ? Number(proxy[1]) : Number.NaN,
    upstreamMs: upstream ? Number(upstream[1]) : Number.NaN,
    cache: (typeof cache === 'string' && CACHE[cache.toUpperCase()]) || 'none',
  }
}

/** An answer's content type, when it gave one. */
export function contentTypeOf(headers: Readonly<Record<string, HeaderValue>>): string | undefined {
  const value = headers['content-type']
  return value === undefined ? undefined : Array.isArray(value) ? value[0] : String(value)
}

/** A short, stable name for a transport failure. */
export function errorKind(error: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) return 'interrupted'
  const code = (error as { code?: string })?.code ?? ''
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout'
    case 'ECONNREFUSED':
      return 'connect_refused'
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset'
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return 'interrupted'
    default:
      return code ? code.toLowerCase() : 'network'
  }
}
