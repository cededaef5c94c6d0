import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { retryAfterMs } from '../resilience/backoff.ts'
import { type FailurePolicy, networkFailure, statusFailure, UpstreamFailure } from '../resilience/failure.ts'
import type { Deployment } from './registry.ts'
import { SseParser } from './sse.ts'
import type { ChatRequest, CompletionResult, StreamTranslator } from './types.ts'

const ERROR_BODY_LIMIT = 64 * 1024
const BODY_LIMIT = 64 * 1024 * 1024

export interface AttemptContext {
  readonly policy: FailurePolicy
  readonly injectUsage: boolean
  readonly now: () => number
}

/** One non-streaming call to one deployment: the OpenAI body for the client, or a failure. */
export async function completeOnce(
  d: Deployment,
  req: ChatRequest,
  signal: AbortSignal,
  ctx: AttemptContext,
): Promise<CompletionResult> {
  const { adapter, upstream } = d.provider
  const res = await send(d, req, signal, ctx)
  let body: Buffer
  try {
    body = await readBody(res.body, res.statusCode >= 400 ? ERROR_BODY_LIMIT : BODY_LIMIT)
  } catch (err) {
    throw networkFailure(err, signal)
  }
  if (res.statusCode >= 300) {
    throw statusFailure(
      res.statusCode,
      adapter.errorBody(res.statusCode, body),
      retryAfterMs(res.headers, ctx.now()),
      ctx.policy,
    )
  }
  try {
    return adapter.completion(body, req)
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
  signal: AbortSignal,
  ctx: AttemptContext,
): Promise<StreamStart> {
  const { adapter } = d.provider
  const res = await send(d, req, signal, ctx)
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
  const translator = adapter.streamTranslator(req, { model: d.model, injectUsage: ctx.injectUsage })
  const parser = new SseParser()
  const chunks = res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const first: Buffer[] = []
  try {
    while (translator.contentEvents === 0 && !translator.done && !translator.error) {
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
    if (err instanceof SyntaxError) throw badResponse(err, d.provider.upstream.origin)
    throw networkFailure(err, signal)
  }
  if (translator.error && translator.contentEvents === 0) {
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

function send(d: Deployment, req: ChatRequest, signal: AbortSignal, ctx: AttemptContext) {
  const upstreamRequest = d.provider.adapter.chatRequest(req, {
    model: d.model,
    injectUsage: ctx.injectUsage,
  })
  return d.provider.upstream.request(upstreamRequest, signal).catch((err) => {
    throw networkFailure(err, signal)
  })
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
export async function readBody(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > limit) {
      body.destroy()
      throw new UpstreamFailure('bad_response', {
        message: `the provider's answer is larger than ${limit} bytes`,
        retryable: false,
        countsAsFailure: true,
      })
    }
    chunks.push(chunk)
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)
}
