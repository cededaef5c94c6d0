import type { DeepReadonly } from '../config/load.ts'
import type { ProviderConfig } from '../config/schema.ts'
import {
  carriesAnswer,
  numberIn,
  openAIErrorFromJson,
  parseChatChunk,
  readUsage,
  withUsageOption,
} from './chat-wire.ts'
import { ContentTemplate } from './chunk-template.ts'
import { answerIds, MESSAGES_CODEC, RESPONSES_CODEC, viaChat } from './dialects.ts'
import type { SseEvent } from './sse.ts'
import { SSE_DONE } from './sse.ts'
import type {
  ChatOptions,
  ChatRequest,
  CompletionResult,
  DialectOps,
  Json,
  ProviderErrorBody,
  StreamTranslator,
  Usage,
  WireAdapter,
} from './types.ts'

/** The OpenAI wire: requests and answers pass through as bytes, read only where the proxy must. */
export function createOpenAIAdapter(
  provider: DeepReadonly<ProviderConfig>,
  now: () => number = Date.now,
): WireAdapter {
  const ids = answerIds()
  const basePath = new URL(provider.base_url).pathname.replace(/\/+$/, '')
  const headers: Record<string, string> = { 'content-type': 'application/json', ...provider.headers }
  if (provider.api_key) headers.authorization = `Bearer ${provider.api_key}`
  const chatPath = `${basePath}/chat/completions`

  const embeddingsPath = `${basePath}/embeddings`
  const chat: DialectOps = {
    request(req: ChatRequest, options: ChatOptions) {
      const wantsUsage = req.stream && options.injectUsage && !req.includeUsage
      if (req.body.model === options.model) {
        if (!wantsUsage) return { path: chatPath, headers, body: req.raw }
        // The client's bytes with the usage option put in front: no need to serialize them again.
        if (req.body.stream_options === undefined) {
          const body = withUsageOption(req.raw)
          if (body) return { path: chatPath, headers, body }
        }
      }
      const body: Record<string, Json> = { ...req.body, model: options.model }
      if (wantsUsage) body.stream_options = { ...req.body.stream_options, include_usage: true }
      return { path: chatPath, headers, body: JSON.stringify(body) }
    },

    completion(body: Buffer): CompletionResult {
      // The body goes to the client as received, but parsed whole first: a 200 whose JSON is
      // broken in the middle is the provider's fault (502 upstream_bad_response, failed over),
      // not an answer to pass on or to cache. Reading the usage from a slice of the bytes instead
      // saved about 2 us a request and let such a body through.
      const parsed = JSON.parse(body.toString('utf8'))
      if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.choices)) {
        throw new TypeError('chat completion without choices')
      }
      return { body, usage: readUsage(parsed.usage) }
    },

    streamTranslator(req: ChatRequest): StreamTranslator {
      return new OpenAIStream(req.includeUsage)
    },
  }
  const embeddings: DialectOps = {
    request(req: ChatRequest, options: ChatOptions) {
      if (req.body.model === options.model) return { path: embeddingsPath, headers, body: req.raw }
      return { path: embeddingsPath, headers, body: JSON.stringify({ ...req.body, model: options.model }) }
    },
    // Vectors pass through untouched; the usage is read from the tail (a body of vectors is large).
    completion(body: Buffer): CompletionResult {
      const at = body.lastIndexOf(USAGE)
      const tail = at === -1 ? '' : body.toString('latin1', at + USAGE.length)
      const prompt = numberIn(tail, '"prompt_tokens"')
      if (prompt !== undefined && body.indexOf(LIST) !== -1)
        return { body, usage: { prompt_tokens: prompt, completion_tokens: 0, total_tokens: prompt } }
      const parsed = JSON.parse(body.toString('utf8'))
      if (!Array.isArray(parsed?.data)) throw new TypeError('embeddings answer without data')
      return { body, usage: readUsage(parsed.usage) }
    },
  }

  return {
    wire: 'openai',
    modelsPath: `${basePath}/models`,
    headers,
    dialects: {
      chat,
      embeddings,
      messages: viaChat(chat, MESSAGES_CODEC(ids)),
      responses: viaChat(chat, RESPONSES_CODEC(ids, now)),
    },

    errorBody: openAIErrorBody,

    models(body: Buffer) {
      const parsed = JSON.parse(body.toString('utf8'))
      if (!Array.isArray(parsed?.data)) throw new TypeError('model list without data')
      return parsed.data.filter((m: Json) => typeof m?.id === 'string')
    },
  }
}

class OpenAIStream implements StreamTranslator {
  done = false
  answerEvents = 0
  usage: Usage | undefined
  error: ProviderErrorBody | undefined
  readonly #forwardUsage: boolean
  #template: ContentTemplate | undefined

  constructor(forwardUsage: boolean) {
    this.#forwardUsage = forwardUsage
  }

  /** The end of the stream's next piece of text at `at`, shaped as its first one was (ContentTemplate). */
  knownEnd(buf: Buffer, at: number): number {
    return this.#template === undefined ? -1 : this.#template.endAt(buf, at)
  }

  /**
   * Every chunk is read before it is forwarded: a chunk that is not a chat.completion.chunk
   * (unreadable JSON, no choices) fails the stream instead of reaching the client, and an error
   * event is the provider's failure, reported by the proxy, not relayed as if it were an answer.
   * Text chunks recognised on their bytes (`knownEnd`) come as runs, already checked.
   */
  translate(event: SseEvent, out: Buffer[]): void {
    if (event.known > 0) {
      this.answerEvents += event.known
      out.push(event.raw)
      return
    }
    // The stream's next piece of text, shaped as its first one was: no need to decode it.
    if (this.#template?.matches(event.raw)) {
      this.answerEvents++
      out.push(event.raw)
      return
    }
    // The usage chunk, read on its bytes: forwarded as it came to a client that asked for it (and
    // to the cache's flights, which always ask), else only its counts are kept.
    if (this.#template !== undefined) {
      const usage = this.#template.usageOf(event.raw)
      if (usage !== undefined) {
        this.usage = usage
        if (this.#forwardUsage) out.push(event.raw)
        return
      }
    }
    const data = event.data
    if (data === '') return // comments and keep-alives: the proxy sends its own
    if (data === '[DONE]') {
      this.done = true
      out.push(SSE_DONE)
      return
    }
    const chunk = parseChatChunk(data)
    if (chunk.error) {
      this.error = openAIErrorFromJson(chunk.error)
      return
    }
    const choices: Json[] = chunk.choices
    if (chunk.usage) this.usage = readUsage(chunk.usage)
    // Usage arrives alone in a last chunk with no choices; forwarded only if the client asked.
    if (choices.length === 0 && !this.#forwardUsage) return
    if (carriesAnswer(choices)) {
      this.answerEvents++
      this.#template ??= ContentTemplate.of(event.raw, data, chunk)
    }
    out.push(event.raw)
  }
}

const LIST = Buffer.from('"data"')
const USAGE = Buffer.from('"usage"')

function safeParse(text: string): Json {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export function openAIErrorBody(status: number, body: Buffer): ProviderErrorBody {
  const parsed = safeParse(body.toString('utf8'))
  if (parsed?.error) return openAIErrorFromJson(parsed.error)
  return { message: `provider answered ${status}`, type: 'upstream_error', code: null, param: null }
}
