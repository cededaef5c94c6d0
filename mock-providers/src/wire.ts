import type { Completion } from './content.ts'
import type { MockError } from './errors.ts'
import type { AnthropicModel, OpenAIModel, RouteName } from './profile-schema.ts'
import type { TokenCounter } from './tokens.ts'
import type { ToolCall, ToolSpec } from './tool-call.ts'

export type WireName = 'openai' | 'anthropic'

export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>

/** A chat completion (OpenAI) or a message (Anthropic). */
export interface GenerationRequest {
  kind: 'generation'
  route: RouteName
  model: string
  stream: boolean
  includeUsage: boolean
  maxTokens: number | null
  promptTokens: number
  /** Hash of the model and prompt text; the core mixes in the seed. */
  contentHash: number
  /** The tool tool_choice forces the model to call; null: a text answer (the mock never picks a tool itself). */
  forcedTool: ToolSpec | null
}

export interface EmbeddingsRequest {
  kind: 'embeddings'
  route: 'embeddings'
  model: string
  /** Each input as a string (token arrays are joined) to derive its vector. */
  inputs: string[]
  promptTokens: number
  dimensions: number | null
  base64: boolean
  contentHash: number
}

export interface ModelsRequest {
  kind: 'models'
  route: 'models'
  limit: number
  afterId: string | null
  beforeId: string | null
}

export type ParsedRequest = GenerationRequest | EmbeddingsRequest | ModelsRequest

/** What the wire needs to render a generated answer. */
export interface GenerationView {
  id: string
  created: number
  model: string
  /** The model id as a JSON string. */
  modelJson: string
  promptTokens: number
  completion: Completion
  /** Set when the request forces a tool: the answer is this call instead of the completion's text. */
  toolCall: ToolCall | null
  includeUsage: boolean
}

export interface ModelsView {
  openai: readonly OpenAIModel[]
  anthropic: readonly AnthropicModel[]
}

/** One provider's wire format: routing, request validation and body rendering. No I/O. */
export interface Wire {
  readonly name: WireName
  /** Events a stream sends before its first token (role chunk; message_start, content_block_start, ping). */
  readonly streamLead: number
  /** Events a tool-call stream sends before its first arguments piece. */
  readonly toolStreamLead: number
  /** What a stream carries while the provider has nothing to send (an SSE comment, Anthropic's ping). */
  readonly keepAliveEvent: string
  route(method: string, path: string): RouteName | null
  /** The API key the client sent, if any, in this provider's header. */
  apiKey(headers: HeaderBag): string | undefined
  parse(route: RouteName, body: string, query: string, tokens: TokenCounter): ParsedRequest | MockError
  errorBody(error: MockError): string
  /** A non-streaming answer is head + tail: the head holds what changes per request (id, created). */
  completionHead(view: GenerationView): string
  /** The rest of the answer; a function of the request and the profile, so it can be cached. */
  completionTail(view: GenerationView): string
  /** SSE events, each complete with its trailing blank line; the terminator last. */
  streamEvents(view: GenerationView): string[]
  /** The same event with its JSON broken (for the malformed fault). */
  malformEvent(event: string): string
  /** An error event inside a stream, as the provider sends it (for the stream_error fault). */
  errorEvent(error: MockError): string
  modelsBody(models: ModelsView, request: ModelsRequest): string
  embeddingsBody(request: EmbeddingsRequest, vectors: Float32Array[]): string
  notFound(method: string, path: string): MockError
  unauthorized(): MockError
  modelNotFound(model: string, route: RouteName): MockError
  contextLengthExceeded(promptTokens: number, window: number, route: RouteName): MockError
}
