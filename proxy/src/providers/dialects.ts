import { randomBytes } from 'node:crypto'
import { chatCompletionToMessage } from '../translate/messages-answer.ts'
import { messagesToChatRequest } from '../translate/messages-request.ts'
import { ChatToMessagesStream } from '../translate/messages-stream.ts'
import { chatCompletionToResponse, type ResponseIds } from '../translate/responses-answer.ts'
import { responsesToChatRequest } from '../translate/responses-request.ts'
import { ChatToResponsesStream } from '../translate/responses-stream.ts'
import { empty, SseEvent } from './sse.ts'
import type { ChatRequest, DialectOps, Json, StreamTranslator, Usage } from './types.ts'

// The client APIs a provider does not speak natively, served through chat completions: the
// request becomes a chat request, the provider's chat answer (or stream) becomes the client's.
// One translation module per pair of APIs (proxy/src/translate/), composed here for every wire.

/** How one client API maps onto chat completions. */
export interface ChatCodec {
  toChat(req: ChatRequest): Record<string, Json>
  fromChat(completion: Json, req: ChatRequest): Json
  stream(req: ChatRequest): StreamTranslator
}

/** A chat request made by the proxy from another API's request. */
export function chatRequestOf(body: Record<string, Json>, stream: boolean): ChatRequest {
  // The client API's own stream needs the usage, whatever the client asked.
  return { dialect: 'chat', body, raw: Buffer.from(JSON.stringify(body)), stream, includeUsage: stream }
}

/** The chat form of a request in another API, made once per request (routes may make it first). */
export function chatForm(req: ChatRequest, codec: ChatCodec): ChatRequest {
  if (req.asChat) return req.asChat
  const chat = chatRequestOf(codec.toChat(req), req.stream)
  ;(req as { asChat?: ChatRequest }).asChat = chat
  return chat
}

/** A client API served through a wire's chat completions. */
export function viaChat(chat: DialectOps, codec: ChatCodec): DialectOps {
  const streamChat = chat.streamTranslator as NonNullable<DialectOps['streamTranslator']>
  return {
    request: (req, options) => chat.request(chatForm(req, codec), options),
    completion(body, req) {
      const answer = chat.completion(body, chatForm(req, codec))
      const translated = codec.fromChat(JSON.parse(answer.body.toString('utf8')), req)
      return { body: Buffer.from(JSON.stringify(translated)), usage: answer.usage }
    },
    streamTranslator: (req, options) =>
      new ComposedStream(streamChat(chatForm(req, codec), options), codec.stream(req)),
  }
}

/**
 * Two stream translators in a row: the wire's (provider events -> chat chunks) then the client
 * API's (chat chunks -> its events). The answer started when the first one says so; the stream is
 * complete when the second has written its terminator.
 */
class ComposedStream implements StreamTranslator {
  readonly #first: StreamTranslator
  readonly #second: StreamTranslator
  readonly #chunks: Buffer[] = []

  constructor(first: StreamTranslator, second: StreamTranslator) {
    this.#first = first
    this.#second = second
  }

  translate(event: SseEvent, out: Buffer[]): void {
    const chunks = this.#chunks
    empty(chunks)
    this.#first.translate(event, chunks)
    for (const chunk of chunks) this.#second.translate(new SseEvent(chunk), out)
  }

  get done(): boolean {
    return this.#second.done
  }
  get answerEvents(): number {
    return this.#first.answerEvents
  }
  get usage(): Usage | undefined {
    return this.#first.usage ?? this.#second.usage
  }
  get error() {
    return this.#first.error ?? this.#second.error
  }
}

/** Ids for answers the proxy writes itself (a per-process prefix and a counter, like request ids). */
export function answerIds(prefix = randomBytes(6).toString('hex')): { next(kind: string): string } {
  let counter = 0
  return { next: (kind) => `${kind}_${prefix}${(++counter).toString(36)}` }
}

export const MESSAGES_CODEC = (ids: { next(kind: string): string }): ChatCodec => ({
  toChat: (req) => messagesToChatRequest(req.body),
  fromChat: (completion, req) => chatCompletionToMessage(completion, req.body.model),
  stream: (req) => new ChatToMessagesStream(req.body.model, ids.next('msg')),
})

export const RESPONSES_CODEC = (ids: { next(kind: string): string }, now: () => number): ChatCodec => {
  const responseIds: ResponseIds = { response: () => ids.next('resp'), item: () => ids.next('msg') }
  return {
    toChat: (req) => responsesToChatRequest(req.body),
    fromChat: (completion, req) =>
      chatCompletionToResponse(completion, req.body, responseIds, Math.floor(now() / 1000)),
    stream: (req) => new ChatToResponsesStream(req.body, responseIds, Math.floor(now() / 1000)),
  }
}
