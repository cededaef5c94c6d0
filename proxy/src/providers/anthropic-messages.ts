import { anthropicEvent } from './anthropic-stream.ts'
import { anthropicErrorFromJson, anthropicUsage } from './anthropic-translate.ts'
import type { SseEvent } from './sse.ts'
import type {
  ChatRequest,
  CompletionResult,
  DialectOps,
  Json,
  ProviderErrorBody,
  StreamTranslator,
  Usage,
} from './types.ts'

/**
 * The Anthropic Messages API, served by an Anthropic-wire provider as it is: the request goes with
 * the deployment's model name and the proxy's credentials, the answer and the stream come back
 * byte for byte. The proxy reads only what it must: usage, where the answer starts, its end, errors.
 */
export function anthropicMessagesOps(path: string, headers: Record<string, string>): DialectOps {
  return {
    request(req: ChatRequest, options) {
      const body =
        req.body.model === options.model ? req.raw : JSON.stringify({ ...req.body, model: options.model })
      return { path, headers, body }
    },
    completion(body: Buffer): CompletionResult {
      const message = JSON.parse(body.toString('utf8'))
      if (message?.type !== 'message' || !Array.isArray(message.content))
        throw new TypeError('Anthropic answer is not a message')
      return { body, usage: anthropicUsage(message.usage) }
    },
    streamTranslator: () => new AnthropicPassthrough(),
  }
}

/** Anthropic events relayed as they came; the provider's pings are dropped (the proxy sends its own). */
class AnthropicPassthrough implements StreamTranslator {
  done = false
  answerEvents = 0
  usage: Usage | undefined
  error: ProviderErrorBody | undefined
  #input: Json = undefined
  #output = 0

  translate(event: SseEvent, out: Buffer[]): void {
    if (event.data === '') return
    const payload = anthropicEvent(event)
    switch (payload?.type ?? event.event) {
      case 'ping':
        return
      case 'error':
        this.error = anthropicErrorFromJson(payload.error)
        return
      case 'message_start':
        this.#input = payload.message?.usage
        break
      case 'content_block_start':
        if (payload.content_block?.type !== 'text' || payload.content_block.text) this.answerEvents++
        break
      case 'content_block_delta':
        this.answerEvents++
        break
      case 'message_delta':
        this.#output = payload.usage?.output_tokens ?? this.#output
        this.usage = anthropicUsage(this.#input, this.#output)
        this.answerEvents++
        break
      case 'message_stop':
        this.usage ??= anthropicUsage(this.#input, this.#output)
        this.done = true
        break
    }
    out.push(event.raw)
  }
}
