import type { CancelSignal } from '../cancel.ts'
import { ProxyError } from '../errors.ts'
import { type AttemptContext, completeOnce, openStream } from '../providers/attempt.ts'
import type { Deployment, ProviderRegistry, Route } from '../providers/registry.ts'
import type { StreamCall } from '../providers/stream-call.ts'
import {
  type ChatRequest,
  type CompletionResult,
  DIALECT_PATHS,
  type Dialect,
  type Json,
} from '../providers/types.ts'
import type { Attempt, Execution, Executor } from '../resilience/executor.ts'
import { UpstreamFailure } from '../resilience/failure.ts'
import type { Lease } from '../resilience/lease.ts'
import { UpstreamStream } from '../resilience/upstream-stream.ts'
import type { Condenser } from './condenser.ts'
import { promptTokens } from './tokens.ts'

export interface Condensed {
  readonly before: number
  readonly after: number
}

export interface UpstreamRun<T> {
  readonly run: Execution<T>
  /** Set when the conversation was condensed to fit the model's context window. */
  readonly condensed: Condensed | null
}

export interface AutoCondense {
  readonly condenser: Condenser
  /** Share of the window left free for tokenizer differences (condensation.safety_margin). */
  readonly margin: number
  /** The route's context window: configuration first, then model discovery. */
  readonly windowOf: (route: Route) => number | undefined
}

/** A provider's way of saying the prompt is over its context window. */
export function isContextOverflow(err: unknown): err is UpstreamFailure {
  if (!(err instanceof UpstreamFailure) || err.status !== 400) return false
  const detail = err.providerError
  if (detail?.code === 'context_length_exceeded') return true
  return /context length|context window|prompt is too long|too many tokens/i.test(detail?.message ?? '')
}

/** The window a provider named in its error, e.g. "maximum context length is 8192 tokens", "> 200000 maximum". */
export function windowFromError(failure: UpstreamFailure): number | undefined {
  const message = failure.providerError?.message ?? ''
  const match = /context length is (\d+)/i.exec(message) ?? /> ?(\d+) maximum/i.exec(message)
  return match ? Number(match[1]) : undefined
}

export function withMessages(req: ChatRequest, messages: Json[]): ChatRequest {
  const body = { ...req.body, messages }
  return { body, raw: Buffer.from(JSON.stringify(body)), stream: req.stream, includeUsage: req.includeUsage }
}

/**
 * Calls providers for a chat request through the executor (failover, retries, breakers) and
 * keeps an over-long conversation from failing: when the route's context window is known and
 * the prompt plus max_tokens exceeds it, the conversation is condensed before it is sent; when
 * a provider answers context_length_exceeded, it is condensed and sent once more. Never more
 * than one condensation per request.
 */
export class ChatUpstream {
  readonly #registry: ProviderRegistry
  readonly #executor: Executor
  readonly #attempt: AttemptContext
  readonly #auto: AutoCondense | undefined
  // The attempts, made once: the request they send is the executor's subject.
  readonly #completeOnce: Attempt<CompletionResult, ChatRequest>
  readonly #openStream: Attempt<StreamCall, ChatRequest>

  constructor(deps: {
    registry: ProviderRegistry
    executor: Executor
    attempt: AttemptContext
    auto?: AutoCondense
  }) {
    this.#registry = deps.registry
    this.#executor = deps.executor
    this.#attempt = deps.attempt
    this.#auto = deps.auto
    const ctx = deps.attempt
    this.#completeOnce = (d, s, t, r) => completeOnce(d, r, s, t, ctx)
    this.#openStream = (d, s, t, r) => openStream(d, r, s, t, ctx)
  }

  /** `deadline` (monotonic ms): when the answer must have started (http_client.request_deadline). */
  complete(
    route: Route,
    req: ChatRequest,
    signal: CancelSignal,
    deadline: number,
  ): Promise<UpstreamRun<CompletionResult>> {
    return this.#run(route, req, signal, deadline, false, this.#completeOnce)
  }

  /** A stream that has started answering; the caller relays it (UpstreamStream owns its outcome). */
  async stream(
    route: Route,
    req: ChatRequest,
    signal: CancelSignal,
    deadline: number,
  ): Promise<UpstreamRun<UpstreamStream>> {
    const out = await this.#run(route, req, signal, deadline, true, this.#openStream)
    const run = out.run
    return { ...out, run: { ...run, value: new UpstreamStream(run.value, run.lease as Lease) } }
  }

  /** The deadline of a request starting now. */
  deadline(): number {
    return this.#attempt.monotonic() + this.#attempt.requestDeadlineMs
  }

  async #run<T>(
    route: Route,
    req: ChatRequest,
    signal: CancelSignal,
    deadline: number,
    hold: boolean,
    attempt: Attempt<T, ChatRequest>,
  ): Promise<UpstreamRun<T>> {
    const order = servedOrder(this.#registry.order(route), route, req.dialect ?? 'chat')
    const executor = this.#executor
    const options = { deadline, hold, subject: req }
    const auto = this.#auto
    // Condensation rewrites chat messages; other APIs go as they came.
    if (!auto || (req.dialect ?? 'chat') !== 'chat')
      return {
        run: await executor.run(order, attempt, signal, options),
        condensed: null,
      }

    const reserve = reservedTokens(req.body)
    const window = auto.windowOf(route)
    // Text never has more tokens than UTF-8 bytes: a body smaller than the window needs no count.
    if (window !== undefined && req.raw.length + reserve > window) {
      // Counted once: the condenser is handed the sizes.
      const sizes = await auto.condenser.tokens.sizes(req.body.messages)
      if (promptTokens(sizes) + reserve > window) {
        const fitted = await this.#condense(route, req, window, reserve, sizes)
        if (fitted) {
          const run = await executor.run(order, attempt, signal, { ...options, subject: fitted.req })
          return { run, condensed: fitted.condensed }
        }
      }
    }
    try {
      return {
        run: await executor.run(order, attempt, signal, options),
        condensed: null,
      }
    } catch (err) {
      if (!isContextOverflow(err)) throw err
      const limit = windowFromError(err) ?? window
      let fitted: { req: ChatRequest; condensed: Condensed } | undefined
      try {
        fitted = await this.#condense(route, req, limit, reserve)
      } catch {
        throw err // the provider's answer says more than the summarizer's failure
      }
      if (!fitted) throw err
      const run = await executor.run(order, attempt, signal, { ...options, subject: fitted.req })
      return { run, condensed: fitted.condensed }
    }
  }

  async #condense(
    route: Route,
    req: ChatRequest,
    window: number | undefined,
    reserve: number,
    counted?: readonly number[],
  ): Promise<{ req: ChatRequest; condensed: Condensed } | undefined> {
    const auto = this.#auto!
    const messages = req.body.messages
    const sizes = counted ?? (await auto.condenser.tokens.sizes(messages))
    const target =
      window === undefined
        ? Math.floor(promptTokens(sizes) / 2)
        : Math.floor((window - reserve) * (1 - auto.margin))
    if (target <= 0) return undefined
    const result = await auto.condenser.condense({ model: route.name, messages, targetTokens: target, sizes })
    if (!result.condensed) return undefined
    return {
      req: withMessages(req, result.messages),
      condensed: { before: result.tokensBefore, after: result.tokensAfter },
    }
  }
}

function reservedTokens(body: Record<string, Json>): number {
  const n = body.max_completion_tokens ?? body.max_tokens
  return typeof n === 'number' ? n : 0
}

/**
 * The route's deployments whose provider serves the client's API, in order; a clear 400 when the
 * route is not of a kind that answers this API (a chat model asked for embeddings) or none does.
 */
function servedOrder(order: readonly Deployment[], route: Route, dialect: Dialect): readonly Deployment[] {
  const kindServes = route.kind === 'embedding' ? dialect === 'embeddings' : dialect !== 'embeddings'
  let served = kindServes
  if (served) for (const d of order) if (d.provider.adapter.dialects[dialect] === undefined) served = false
  if (served) return order
  const subset = kindServes ? order.filter((d) => d.provider.adapter.dialects[dialect] !== undefined) : []
  if (subset.length > 0) return subset
  throw new ProxyError('invalid_request', {
    param: 'model',
    message: `The model '${route.name}' does not serve ${DIALECT_PATHS[dialect]} (it is a ${route.kind} model${kindServes ? ' on providers that do not offer this API' : ''}).`,
  })
}
