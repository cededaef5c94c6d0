import type { SseEvent, SseReader } from './sse.ts'

export type Wire = 'openai' | 'anthropic'

/** The APIs clients speak to the proxy; a provider serves some of them (see WireAdapter.dialects). */
export type Dialect = 'chat' | 'embeddings' | 'messages' | 'responses'

/** Where each API is served. */
export const DIALECT_PATHS: Readonly<Record<Dialect, string>> = {
  chat: '/v1/chat/completions',
  embeddings: '/v1/embeddings',
  messages: '/v1/messages',
  responses: '/v1/responses',
}

// biome-ignore lint/suspicious/noExplicitAny: the OpenAI request is open-ended JSON; routes check the parts they use.
export type Json = any

/** A client's request, parsed once and checked by the route, in the API it came in. */
export interface ChatRequest {
  /** The client's API; absent means chat completions. */
  readonly dialect?: Dialect
  readonly body: Record<string, Json>
  /** The body as received: forwarded untouched when nothing in it has to change. */
  readonly raw: Buffer
  readonly stream: boolean
  /** The client asked for `stream_options.include_usage`. */
  readonly includeUsage: boolean
  /** For a request in another API, its chat completions form (made once, by the route or on first use). */
  readonly asChat?: ChatRequest
}

export interface UpstreamRequest {
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: string | Buffer
}

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

export interface CompletionResult {
  /** The answer to send to the client, in its API (a chat.completion for chat completions). */
  readonly body: Buffer
  readonly usage: Usage | undefined
}

/** An error body sent by a provider, in OpenAI terms. */
export interface ProviderErrorBody {
  message: string
  type: string
  code: string | null
  param: string | null
}

/** Turns one upstream stream into OpenAI chunks, event by event. */
export interface StreamTranslator extends SseReader<Buffer[]> {
  /** Appends to `out` the bytes to send to the client for this upstream event. */
  translate(event: SseEvent, out: Buffer[]): void
  /** The upstream sent its terminator ([DONE] / message_stop). */
  readonly done: boolean
  /**
   * Events that carried part of the answer: text, a tool call, a finish reason (a role alone, a
   * usage chunk, an error do not). Before the first, a failure can still be failed over: the
   * client has nothing it would see twice.
   */
  readonly answerEvents: number
  readonly usage: Usage | undefined
  /** Set when the upstream sent an error event inside the stream (it is not forwarded). */
  readonly error: ProviderErrorBody | undefined
}

export interface ChatOptions {
  /** The model name the upstream knows. */
  readonly model: string
  /** Ask the upstream for usage in streams even when the client did not. */
  readonly injectUsage: boolean
}

/** What a provider wire does for one client API: the upstream request, the answer, the stream. */
export interface DialectOps {
  request(req: ChatRequest, options: ChatOptions): UpstreamRequest
  /** The answer in the client's API, from a successful non-streaming body; throws when it cannot. */
  completion(body: Buffer, req: ChatRequest): CompletionResult
  /** Undefined for an API that never streams (embeddings). */
  streamTranslator?(req: ChatRequest, options: ChatOptions): StreamTranslator
}

/** What differs between provider wire formats; everything else is shared. */
export interface WireAdapter {
  /** The client APIs this wire serves; a deployment is skipped for any other. */
  readonly dialects: Partial<Record<Dialect, DialectOps>>
  readonly wire: Wire
  errorBody(status: number, body: Buffer): ProviderErrorBody
  readonly modelsPath: string
  /** Headers every request to the provider carries (credentials, API version). */
  readonly headers: Readonly<Record<string, string>>
  /** Model ids (and owners, context windows when the provider tells) from the provider's model list. */
  models(body: Buffer): { id: string; owned_by?: string; created?: number; context_window?: number }[]
}
