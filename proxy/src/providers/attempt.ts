import type { Dispatcher } from 'undici'
import type { CancelSignal } from '../cancel.ts'
import { retryAfterMs } from '../resilience/backoff.ts'
import { type FailurePolicy, networkFailure, statusFailure, UpstreamFailure } from '../resilience/failure.ts'
import { ClientInputError } from '../translate/errors.ts'
import { type Answer, AnswerTooLarge } from './buffered-call.ts'
import type { CallWatch, StartBound } from './call-watch.ts'
import type { Deployment } from './registry.ts'
import { SseParser } from './sse.ts'
import { maskedError, StreamCall, type StreamOpening } from './stream-call.ts'
import type { ChatRequest, CompletionResult, DialectOps, UpstreamRequest } from './types.ts'

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
  /**
   * http_client.first_token_timeout: the longest an attempt waits for its answer to start (a
   * stream's first answer event, a plain answer's last byte); Infinity when unset.
   */
  readonly firstTokenTimeoutMs: number
  /** http_client.max_response_mb: the largest non-streamed answer. */
  readonly maxResponseBytes: number
  /** streaming.max_event_kb: the largest single event of a stream. */
  readonly maxEventBytes: number
  /** Ends calls whose answer has not started by the deadline, or whose stream went idle. */
  readonly watch: CallWatch
}

/**
 * When an attempt started at `now` must have started answering (monotonic ms): the request's
 * deadline, or first_token_timeout later when that is nearer. Undici's timeouts cannot see a
 * provider that sends its head at once and then only keep-alives; with first_token_timeout set,
 * such an attempt is left with the rest of the deadline to fail over in, as a silent one is at
 * http_client.timeout.
 */
function startBy(ctx: AttemptContext, deadline: number, now: number): number {
  return Math.min(now + ctx.firstTokenTimeoutMs, deadline)
}

/** Which bound `startBy` is, for the error that ends a call past it. */
function boundOf(by: number, deadline: number): StartBound {
  return by < deadline ? 'first_token' : 'deadline'
}

/** The wait for a response head: http_client.timeout, or less when the answer must start sooner. */
function headersTimeout(ctx: AttemptContext, by: number, now: number): number {
  return Math.max(1, Math.min(ctx.headersTimeoutMs, by - now))
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
  const now = ctx.monotonic()
  const by = startBy(ctx, deadline, now)
  let answer: Answer
  try {
    answer = await upstream.call(
      upstreamRequest,
      cancel,
      { success: ctx.maxResponseBytes, error: ERROR_BODY_LIMIT },
      headersTimeout(ctx, by, now),
      ctx.watch,
      by,
      boundOf(by, deadline),
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

/**
 * Opens a stream and reads it up to its first answer event, so that a provider failing before
 * that point (error status, reset, cut, error event, unreadable event) is a failed attempt that
 * can be retried or failed over: nothing of the answer has reached the client yet.
 */
export async function openStream(
  d: Deployment,
  req: ChatRequest,
  cancel: CancelSignal,
  deadline: number,
  ctx: AttemptContext,
): Promise<StreamCall> {
  const { adapter, upstream } = d.provider
  const upstreamRequest = translated(d, req, ctx)
  const translator = (opsFor(d, req).streamTranslator as NonNullable<DialectOps['streamTranslator']>)(req, {
    model: d.model,
    injectUsage: ctx.injectUsage,
  })
  const call = new StreamCall(translator, new SseParser(ctx.maxEventBytes), cancel, d.provider.mask)
  const now = ctx.monotonic()
  const by = startBy(ctx, deadline, now)
  call.watchedBy(ctx.watch, by, boundOf(by, deadline))
  upstream.stream(upstreamRequest, call, headersTimeout(ctx, by, now))
  let opening: StreamOpening
  try {
    opening = await call.opened
  } catch (err) {
    const failure = networkFailure(err, cancel)
    // Before the first answer event another provider may still answer in full.
    if (failure.kind === 'bad_response') throw badResponse(failure.cause ?? failure, upstream.origin)
    throw failure
  }
  if (!opening.ok) {
    throw statusFailure(
      opening.status,
      adapter.errorBody(opening.status, opening.body),
      retryAfterMs(opening.headers, ctx.now()),
      ctx.policy,
    )
  }
  if (translator.error && translator.answerEvents === 0) {
    call.abort(new Error('the provider reported an error before its answer'))
    const providerError = maskedError(translator.error, d.provider.mask)
    const retryable = providerError.type === 'server_error' || providerError.type === 'rate_limit_error'
    throw new UpstreamFailure('stream_error', {
      message: `provider stream error: ${providerError.message}`,
      providerError,
      status: providerError.type === 'rate_limit_error' ? 429 : retryable ? 503 : 400,
      retryable,
      countsAsFailure: retryable,
    })
  }
  return call
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
    // Content this wire cannot carry: the client's to fix, unless a deployment of another wire takes it.
    if (err instanceof ClientInputError) {
      throw new UpstreamFailure('client_input', {
        message: err.message,
        retryable: false,
        failover: true,
        countsAsFailure: false,
        cause: err,
      })
    }
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
