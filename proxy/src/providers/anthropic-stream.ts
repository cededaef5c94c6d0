import { anthropicErrorFromJson, anthropicUsage, STOP_REASONS } from './anthropic-translate.ts'
import { SSE_DONE, type SseEvent, sseData } from './sse.ts'
import type { Json, ProviderErrorBody, StreamTranslator, Usage } from './types.ts'

/**
 * Anthropic stream events -> OpenAI chat.completion.chunk events:
 * message_start -> role chunk; text_delta -> content; tool_use / input_json_delta -> tool_calls;
 * message_delta -> finish_reason; message_stop -> (usage chunk) + [DONE]; ping is dropped (the
 * proxy keeps the connection alive itself); error -> `error` (the proxy reports the failure).
 */
export class AnthropicStream implements StreamTranslator {
  done = false
  answerEvents = 0
  usage: Usage | undefined
  error: ProviderErrorBody | undefined

  readonly #includeUsage: boolean
  readonly #created: number
  #id = ''
  #model = ''
  #inputUsage: Json = undefined
  #outputTokens = 0
  #toolIndex = -1
  /** Anthropic content block index -> OpenAI tool call index. */
  readonly #toolByBlock = new Map<number, number>()

  constructor(includeUsage: boolean, created: number) {
    this.#includeUsage = includeUsage
    this.#created = created
  }

  translate(event: SseEvent, out: Buffer[]): void {
    if (event.data === '') return
    const payload = anthropicEvent(event)
    switch (payload.type ?? event.event) {
      case 'message_start': {
        const message = payload.message ?? {}
        this.#id = message.id ?? ''
        this.#model = message.model ?? ''
        this.#inputUsage = message.usage
        out.push(this.#chunk({ role: 'assistant', content: '' }, null))
        return
      }
      case 'content_block_start': {
        const block = payload.content_block
        if (block?.type === 'tool_use') {
          const index = ++this.#toolIndex
          this.#toolByBlock.set(payload.index, index)
          this.answerEvents++
          out.push(
            this.#chunk(
              {
                tool_calls: [
                  { index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } },
                ],
              },
              null,
            ),
          )
        } else if (block?.type === 'text' && block.text) {
          this.answerEvents++
          out.push(this.#chunk({ content: block.text }, null))
        }
        return
      }
      case 'content_block_delta': {
        const delta = payload.delta
        if (delta?.type === 'text_delta') {
          this.answerEvents++
          out.push(this.#chunk({ content: delta.text }, null))
        } else if (delta?.type === 'input_json_delta') {
          const index = this.#toolByBlock.get(payload.index) ?? 0
          this.answerEvents++
          out.push(
            this.#chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] }, null),
          )
        }
        return
      }
      case 'message_delta': {
        this.#outputTokens = payload.usage?.output_tokens ?? this.#outputTokens
        const reason = payload.delta?.stop_reason
        this.usage = anthropicUsage(this.#inputUsage, this.#outputTokens)
        this.answerEvents++
        out.push(this.#chunk({}, reason ? (STOP_REASONS[reason] ?? 'stop') : 'stop'))
        return
      }
      case 'message_stop': {
        this.usage ??= anthropicUsage(this.#inputUsage, this.#outputTokens)
        if (this.#includeUsage) {
          out.push(
            sseData(
              JSON.stringify({
                id: this.#id,
                object: 'chat.completion.chunk',
                created: this.#created,
                model: this.#model,
                choices: [],
                usage: this.usage,
              }),
            ),
          )
        }
        this.done = true
        out.push(SSE_DONE)
        return
      }
      case 'error': {
        this.error = anthropicErrorFromJson(payload.error)
        return
      }
      default:
        return // ping, content_block_stop and events this proxy does not translate
    }
  }

  #chunk(delta: Json, finishReason: string | null): Buffer {
    return sseData(
      JSON.stringify({
        id: this.#id,
        object: 'chat.completion.chunk',
        created: this.#created,
        model: this.#model,
        choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      }),
    )
  }
}

/** An Anthropic stream event's payload, or a SyntaxError when it is not JSON. */
export function anthropicEvent(event: SseEvent): Json {
  try {
    return JSON.parse(event.data)
  } catch {
    throw new SyntaxError(`unreadable ${event.event || 'stream'} event from the provider`)
  }
}
