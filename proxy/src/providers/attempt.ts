import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { CancelSignal } from '../cancel.ts'
import { retryAfterMs } from '../resilience/backoff.ts'
import { type FailurePolicy, networkFailure, statusFailure, UpstreamFailure } from '../resilience/failure.ts'
import { type Answer, AnswerTooLarge } from './buffered-call.ts'
import type { Deployment } from './registry.ts'
import { EventTooLarge, SseParser } from './sse.ts'
import type { ChatRequest, CompletionResult, DialectOps, StreamTranslator, UpstreamRequest } from './types.ts'

const ERROR_BODY_LIMIT = 64 * 1024

export interface AttemptContext {
  readonly policy: FailurePolicy
  readonly injectUsage: boolean
  readonly now: () => number
  readonly monotonic: () => number
  /** http_client.request_deadline: from a request's arrival to the start of its answer. */
  readonly requestDeadlineMs: number
  /** http_client.timeout: the longest wait for a response head. */
  readonly headersTimeoutMs: number
  /** http_client.max_response_mb: the largest non-streamed answer. */
  readonly maxResponseBytes: number
  /** streaming.max_event_kb: the largest single event of a stream. */
  readonly maxEventBytes: number
}

/** The wait for a response head: the configured timeout, or less when the request's deadline is nearer. */
function headersTimeout(ctx: AttemptContext, deadline: number): number {
  return Math.max(1, Math.min(ctx.headersTimeoutMs, deadline - ctx.monotonic()))
}

/** One non-streaming call to one deployment: the OpenAI body for the client, or a failure. */
export async function completeOnce(
  d: Deployment,
  req: ChatRequest,
  cancel: CancelSignal,
  deadline: number,
  ctx: AttemptContext,
): Promise<CompletionResult> {
  const { adapter, upstream } = d.provider
  const upstreamRequest = translated(d, req, ctx)
  let answer: Answer
  try {
    answer = await upstream.call(
      upstreamRequest,
      cancel,
      { success: ctx.maxResponseBytes, error: ERROR_BODY_LIMIT },
      headersTimeout(ctx, deadline),
    )
  } catch (err) {
    if (err instanceof AnswerTooLarge) throw tooLarge(err.limit)
    throw networkFailure(err, cancel)
  }
  if (answer.status >= 300) {
    throw statusFailure(
      answer.status,
      adapter.errorBody(answer.status, answer.body),
      retryAfterMs(answer.headers, ctx.now()),
      ctx.policy,
    )
  }
  try {
    return opsFor(d, req).completion(answer.body, req)
  } catch (err) {
    throw badResponse(err, upstream.origin)
  }
}

export interface StreamStart {
  readonly translator: StreamTranslator
  readonly parser: SseParser
  readonly body: Readable
  /** The rest of the upstream body. */
  readonly chunks: AsyncIterator<Buffer>
  /** Client bytes produced while waiting for the first content event. */
  readonly first: Buffer[]
}

/**
 * Opens a stream and reads it up to its first content event, so that a provider failing before
 * that point (error status, reset, cut, error event) is a failed attempt that can be retried
 * or failed over: nothing of the answer has reached the client yet.
 */
export async function openStream(
  d: Deployment,
  req: ChatRequest,
  cancel: CancelSignal,
  deadline: number,
  ctx: AttemptContext,
): Promise<StreamStart> {
  const { adapter, upstream } = d.provider
  const signal = cancel.asAbortSignal()
  const upstreamRequest = translated(d, req, ctx)
  const res = await upstream.request(upstreamRequest, signal, headersTimeout(ctx, deadline)).catch((err) => {
    throw networkFailure(err, signal)
  })
  if (res.statusCode >= 300) {
    let body: Buffer
    try {
      body = await readBody(res.body, ERROR_BODY_LIMIT)
    } catch (err) {
      throw networkFailure(err, signal)
    }
    throw statusFailure(
      res.statusCode,
      adapter.errorBody(res.statusCode, body),
      retryAfterMs(res.headers, ctx.now()),
      ctx.policy,
    )
  }
  const translator = (opsFor(d, req).streamTranslator as NonNullable<DialectOps['streamTranslator']>)(req, {
    model: d.model,
    injectUsage: ctx.injectUsage,
  })
  const parser = new SseParser(ctx.maxEventBytes)
  const chunks = res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const first: Buffer[] = []
  try {
    while (translator.answerEvents === 0 && !translator.done && !translator.error) {
      const next = await chunks.next()
      if (next.done) {
        throw new UpstreamFailure('stream_cut', {
          message: 'the provider ended the stream before its first event',
          retryable: true,
          countsAsFailure: true,
        })
      }
      for (const event of parser.push(next.value)) translator.translate(event, first)
    }
  } catch (err) {
    res.body.destroy()
    if (err instanceof SyntaxError || err instanceof EventTooLarge)
      throw badResponse(err, d.provider.upstream.origin)
    throw networkFailure(err, signal)
  }
  if (translator.error && translator.answerEvents === 0) {
    res.body.destroy()
    const retryable = translator.error.type === 'server_error' || translator.error.type === 'rate_limit_error'
    throw new UpstreamFailure('stream_error', {
      message: `provider stream error: ${translator.error.message}`,
      providerError: translator.error,
      status: translator.error.type === 'rate_limit_error' ? 429 : retryable ? 503 : 400,
      retryable,
      countsAsFailure: retryable,
    })
  }
  return { translator, parser, body: res.body, chunks, first }
}

/** What the deployment's wire does for the request's API (the executor only offers deployments that serve it). */
function opsFor(d: Deployment, req: ChatRequest): DialectOps {
  return d.provider.adapter.dialects[req.dialect ?? 'chat'] as DialectOps
}

/**
 * The request in the deployment's wire. The route validated it, so a translation that still
 * throws is the proxy's own fault: never retried, never counted against the provider.
 */
function translated(d: Deployment, req: ChatRequest, ctx: AttemptContext): UpstreamRequest {
  try {
    return opsFor(d, req).request(req, { model: d.model, injectUsage: ctx.injectUsage })
  } catch (err) {
    throw new UpstreamFailure('internal', {
      message: `the request could not be translated for ${d.provider.name}: ${(err as Error).message}`,
      retryable: false,
      failover: false,
      countsAsFailure: false,
      cause: err,
    })
  }
}

function badResponse(cause: unknown, origin: string): UpstreamFailure {
  return new UpstreamFailure('bad_response', {
    message: `unreadable answer from ${origin}: ${(cause as Error).message}`,
    retryable: false,
    failover: true,
    countsAsFailure: true,
    cause,
  })
}

/** Reads a whole body, destroying it past `limit` bytes. */
export function readBody(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined
    let rest: Buffer[] | undefined
    let size = 0
    body.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        body.destroy(tooLarge(limit))
        return
      }
      if (first === undefined) first = chunk
      else if (rest === undefined) rest = [first, chunk]
      else rest.push(chunk)
    })
    body.once('error', reject)
    body.once('end', () => resolve(rest ? Buffer.concat(rest, size) : (first ?? Buffer.alloc(0))))
  })
}

function tooLarge(limit: number): UpstreamFailure {
  return new UpstreamFailure('bad_response', {
    message: `the provider's answer is larger than ${limit} bytes`,
    retryable: false,
    countsAsFailure: true,
  })
}
