import type { ActiveProfile } from './active-profile.ts'
import { sample } from './distribution.ts'
import { embeddingVector } from './embedding.ts'
import { isMockError, type MockError, mockError, rateLimitError, statusMessage } from './errors.ts'
import { pickFault } from './faults.ts'
import type { ParseCache } from './parse-cache.ts'
import { JSON_HEADERS, type ResponsePlan, SSE_HEADERS } from './plan.ts'
import type { Fault, RouteName } from './profile-schema.ts'
import { hashNumber, hashString, type Random } from './random.ts'
import type { TokenCounter } from './tokens.ts'
import { createToolCall, type ToolCall, type ToolSpec } from './tool-call.ts'
import type {
  EmbeddingsRequest,
  GenerationRequest,
  GenerationView,
  HeaderBag,
  ModelsRequest,
  Wire,
} from './wire.ts'

/** One request as the adapters hand it over. */
export interface IncomingCall {
  method: string
  path: string
  query: string
  body: string
  headers: HeaderBag
}

/** The state and collaborators the core reads (and, for `random` and `faultCounters`, advances). */
export interface PlanContext {
  wire: Wire
  active: ActiveProfile
  random: Random
  /** One counter per fault of the active profile. */
  faultCounters: number[]
  seed: number
  /** ms since the mock started or was last reset (fault windows). */
  elapsedMs: number
  /** Wall time, for the `created` fields. */
  epochMs: number
  /** 1-based index of this API request since start or reset (response ids). */
  requestIndex: number
  tokens: TokenCounter
  /** Validated POST bodies (the models route is never cached: its answer depends on the query). */
  parsed: ParseCache
}

function basePlan(
  route: RouteName | null,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): ResponsePlan {
  return {
    route,
    status,
    headers,
    headersDelayMs: 0,
    sendHead: true,
    chunks: [body],
    delays: null,
    terminal: 'end',
    keepAlive: null,
    fault: null,
    stream: false,
    limited: false,
    promptTokens: 0,
    completionTokens: 0,
  }
}

export function errorPlan(wire: Wire, route: RouteName | null, error: MockError): ResponsePlan {
  const headers = error.headers === undefined ? JSON_HEADERS : { ...JSON_HEADERS, ...error.headers }
  return basePlan(route, error.status, headers, wire.errorBody(error))
}

/** The answer when the concurrency limit and its queue are both full. */
export function overflowPlan(wire: Wire, route: RouteName | null, status: number): ResponsePlan {
  const error =
    status === 429
      ? rateLimitError(1000, 'Too many concurrent requests. Please try again later.')
      : mockError(status, statusMessage(status))
  return errorPlan(wire, route, error)
}

/** Faults that replace the response; null for faults that modify a normal one. */
function replacingFault(wire: Wire, route: RouteName, fault: Fault): ResponsePlan | null {
  let plan: ResponsePlan
  switch (fault.type) {
    case 'status':
      plan = errorPlan(wire, route, mockError(fault.status, fault.message ?? statusMessage(fault.status)))
      break
    case 'rate_limit':
      plan = errorPlan(wire, route, rateLimitError(fault.retry_after))
      break
    case 'hang':
    case 'reset':
      plan = basePlan(route, 0, JSON_HEADERS, '')
      plan.chunks = []
      plan.sendHead = false
      plan.terminal = fault.type
      break
    default:
      return null
  }
  plan.fault = fault.type
  return plan
}

/** The chunk index (0-based) a fault aims at, kept before the stream's terminator. */
function targetChunk(plan: ResponsePlan, oneBased: number): number {
  return Math.max(0, Math.min(oneBased, plan.chunks.length - 1) - 1)
}

function applyModifier(wire: Wire, plan: ResponsePlan, fault: Fault): void {
  plan.fault = fault.type
  switch (fault.type) {
    case 'slow_headers':
      plan.headersDelayMs += fault.delay
      return
    case 'cut': {
      const keep = Math.min(fault.after_chunks, plan.chunks.length - 1)
      plan.chunks.length = keep
      if (plan.delays !== null) plan.delays.length = keep
      plan.terminal = 'cut'
      return
    }
    case 'malformed': {
      const at = targetChunk(plan, fault.at_chunk)
      plan.chunks[at] = wire.malformEvent(plan.chunks[at])
      return
    }
    case 'duplicate': {
      const at = targetChunk(plan, fault.at_chunk)
      plan.chunks.splice(at + 1, 0, plan.chunks[at])
      plan.delays?.splice(at + 1, 0, 0)
      return
    }
    case 'stream_error': {
      // The provider gives up mid-stream: an error event in its own shape, then the stream ends.
      const at = targetChunk(plan, fault.at_chunk)
      const error = mockError(fault.status, fault.message ?? statusMessage(fault.status))
      plan.chunks.length = at
      plan.chunks.push(wire.errorEvent(error))
      if (plan.delays !== null) plan.delays.length = at + 1
      return
    }
    case 'stall': {
      // The head at once, then the first chunks of a stream (nothing of a plain answer), then only
      // keep-alive bytes: each resets a client's read timeout, and the answer never ends.
      const keep = plan.stream ? Math.min(fault.after_chunks, plan.chunks.length - 1) : 0
      plan.chunks.length = keep
      if (plan.delays !== null) plan.delays.length = keep
      plan.headersDelayMs = 0
      plan.terminal = 'stall'
      plan.keepAlive = { bytes: plan.stream ? wire.keepAliveEvent : ' ', intervalMs: fault.interval }
      return
    }
    case 'slow_drip': {
      const delays = plan.delays ?? new Array<number>(plan.chunks.length).fill(0)
      for (let i = 1; i < delays.length; i++) delays[i] = fault.interval
      plan.delays = delays
      return
    }
  }
}

function requestId(ctx: PlanContext): string {
  return `mock${(ctx.seed >>> 0).toString(36)}x${ctx.requestIndex.toString(36)}`
}

/** Bound of the per-profile maps of rendered tails and tool calls. */
const MAX_REMEMBERED = 4096

/** The cached tail of a non-streaming answer for a request seen before (same body, same profile). */
function completionTail(ctx: PlanContext, request: GenerationRequest, view: GenerationView): string {
  const tails = ctx.active.completionTails
  let tail = tails.get(request)
  if (tail === undefined) {
    tail = ctx.wire.completionTail(view)
    if (tails.size >= MAX_REMEMBERED) tails.clear()
    tails.set(request, tail)
  }
  return tail
}

/** The call of a forced tool, remembered like tails (the request objects come from the parse cache). */
function toolCallFor(ctx: PlanContext, request: GenerationRequest, tool: ToolSpec): ToolCall {
  const calls = ctx.active.toolCalls
  let call = calls.get(request)
  if (call === undefined) {
    call = createToolCall(tool, hashNumber(ctx.seed, request.contentHash), request.maxTokens)
    if (calls.size >= MAX_REMEMBERED) calls.clear()
    calls.set(request, call)
  }
  return call
}

/** `total` plus the time `tokens` more tokens take to generate: that many inter-token latencies. */
function plusItl(ctx: PlanContext, total: number, tokens: number): number {
  const { constantItl } = ctx.active
  if (constantItl !== null) return total + constantItl * tokens
  let sum = total
  for (let i = 0; i < tokens; i++) sum += sample(ctx.active.profile.latency.itl, ctx.random)
  return sum
}

/**
 * Waits of a stream's events: the TTFT before the first, then one ITL per token. A text stream
 * sends a token an event; a tool call's pieces carry several tokens each and wait for all of them.
 */
function streamDelays(ctx: PlanContext, events: number, ttft: number, view: GenerationView): number[] {
  const delays = new Array<number>(events).fill(0)
  delays[0] = ttft
  const call = view.toolCall
  if (call === null) {
    const lead = ctx.wire.streamLead
    for (let i = 1; i < view.completion.pieces.length; i++) delays[lead + i] = plusItl(ctx, 0, 1)
  } else {
    const lead = ctx.wire.toolStreamLead
    // The first piece's first token is the one the TTFT covers.
    for (let i = 0; i < call.pieceTokens.length; i++) {
      delays[lead + i] = plusItl(ctx, 0, call.pieceTokens[i] - (i === 0 ? 1 : 0))
    }
  }
  return delays
}

function generationPlan(request: GenerationRequest, ctx: PlanContext): ResponsePlan {
  const { profile, constantItl } = ctx.active
  const completion = ctx.active.completions.get(hashNumber(ctx.seed, request.contentHash), request.maxTokens)
  const toolCall = request.forcedTool === null ? null : toolCallFor(ctx, request, request.forcedTool)
  const view: GenerationView = {
    id: requestId(ctx),
    created: Math.floor(ctx.epochMs / 1000),
    model: request.model,
    modelJson: ctx.active.modelJson.get(request.model) ?? JSON.stringify(request.model),
    promptTokens: request.promptTokens,
    completion,
    toolCall,
    includeUsage: request.includeUsage,
  }
  const latency = profile.latency
  const ttft = sample(latency.ttft, ctx.random) + request.promptTokens * latency.prefill_per_token
  const tokens = toolCall === null ? completion.pieces.length : toolCall.tokens
  let plan: ResponsePlan
  if (!request.stream) {
    plan = basePlan(request.route, 200, JSON_HEADERS, ctx.wire.completionHead(view))
    plan.chunks.push(completionTail(ctx, request, view))
    plan.headersDelayMs = plusItl(ctx, ttft, tokens - 1)
  } else {
    plan = basePlan(request.route, 200, SSE_HEADERS, '')
    plan.chunks = ctx.wire.streamEvents(view)
    plan.stream = true
    if (ttft > 0 || constantItl !== 0) plan.delays = streamDelays(ctx, plan.chunks.length, ttft, view)
  }
  plan.limited = true
  plan.promptTokens = request.promptTokens
  plan.completionTokens = tokens
  return plan
}

function embeddingsPlan(request: EmbeddingsRequest, native: number, ctx: PlanContext): ResponsePlan {
  const dimensions = request.dimensions ?? native
  if (dimensions > native) {
    return errorPlan(
      ctx.wire,
      'embeddings',
      mockError(
        400,
        `Invalid 'dimensions': this model supports at most ${native} dimensions.`,
        'dimensions',
        'invalid_value',
      ),
    )
  }
  const base = hashNumber(ctx.seed, request.contentHash)
  const vectors = request.inputs.map((input) => embeddingVector(hashString(input, base), dimensions))
  const plan = basePlan('embeddings', 200, JSON_HEADERS, ctx.wire.embeddingsBody(request, vectors))
  const latency = ctx.active.profile.latency
  plan.headersDelayMs = sample(latency.ttft, ctx.random) + request.promptTokens * latency.prefill_per_token
  plan.limited = true
  plan.promptTokens = request.promptTokens
  return plan
}

function modelsPlan(request: ModelsRequest, ctx: PlanContext): ResponsePlan {
  return basePlan('models', 200, JSON_HEADERS, ctx.wire.modelsBody(ctx.active.profile.models, request))
}

function contextWindow(ctx: PlanContext, request: GenerationRequest | EmbeddingsRequest): number | undefined {
  if (ctx.wire.name === 'anthropic') return ctx.active.anthropicModels.get(request.model)?.context_window
  const models = request.kind === 'embeddings' ? ctx.active.embeddingModels : ctx.active.chatModels
  return models.get(request.model)?.context_window
}

/**
 * The behaviour core: (request, route, profile state, seeded random, clock readings) -> response plan.
 * Order: route, auth, request validation, model, context window, fault dice, then latency dice
 * and content. Pure apart from advancing `ctx.random` and `ctx.faultCounters`.
 */
export function planResponse(call: IncomingCall, ctx: PlanContext): ResponsePlan {
  const { wire, active } = ctx
  const route = wire.route(call.method, call.path)
  if (route === null) return errorPlan(wire, null, wire.notFound(call.method, call.path))
  const auth = active.profile.auth
  if (auth.required) {
    const key = wire.apiKey(call.headers)
    if (key === undefined || (auth.keys.length > 0 && !auth.keys.includes(key))) {
      return errorPlan(wire, route, wire.unauthorized())
    }
  }
  let request = route === 'models' ? undefined : ctx.parsed.get(route, call.body)
  if (request === undefined) {
    request = wire.parse(route, call.body, call.query, ctx.tokens)
    if (route !== 'models') ctx.parsed.set(route, call.body, request)
  }
  if (isMockError(request)) return errorPlan(wire, route, request)
  if (request.kind !== 'models') {
    const window = contextWindow(ctx, request)
    if (window === undefined) return errorPlan(wire, route, wire.modelNotFound(request.model, route))
    if (request.promptTokens > window) {
      const plan = errorPlan(wire, route, wire.contextLengthExceeded(request.promptTokens, window, route))
      plan.fault = 'context_length_exceeded'
      return plan
    }
  }
  const stream = request.kind === 'generation' && request.stream
  const fault =
    active.faultCount === 0
      ? null
      : pickFault(
          active.profile.faults,
          ctx.faultCounters,
          { route, stream, elapsedMs: ctx.elapsedMs },
          ctx.random,
        )
  if (fault !== null) {
    const replaced = replacingFault(wire, route, fault)
    if (replaced !== null) return replaced
  }
  let plan: ResponsePlan
  if (request.kind === 'generation') plan = generationPlan(request, ctx)
  else if (request.kind === 'embeddings') {
    const native = active.embeddingModels.get(request.model)?.dimensions ?? 1536
    plan = embeddingsPlan(request, native, ctx)
  } else plan = modelsPlan(request, ctx)
  if (fault !== null && plan.status === 200) applyModifier(wire, plan, fault)
  return plan
}
