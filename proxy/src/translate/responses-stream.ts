import type { Json } from '../providers/types.ts'
import { ChatStreamReader, type ToolCallState } from './chat-stream-reader.ts'
import {
  functionCallItem,
  messageItem,
  outputText,
  type ResponseIds,
  responseObject,
  responseStatus,
  responsesUsage,
} from './responses-answer.ts'
import { sseEvent } from './sse-event.ts'

/**
 * OpenAI chat.completion.chunk events -> the typed Responses stream: response.created and
 * response.in_progress on the first chunk; per text run a message item (output_item.added,
 * content_part.added, output_text.delta..., output_text.done, content_part.done, output_item.done);
 * per tool call a function_call item (output_item.added, function_call_arguments.delta...,
 * .done, output_item.done); on [DONE] response.completed (response.incomplete when the answer was
 * cut by max_output_tokens or a content filter), carrying the whole Response with its usage.
 */
export class ChatToResponsesStream extends ChatStreamReader {
  readonly #request: Json
  readonly #ids: ResponseIds
  readonly #createdAt: number
  readonly #id: string
  /** The output items by output_index, each replaced by its final version when it closes. */
  readonly #output: Json[] = []
  #sequence = 0
  /** The open message item's output_index and text. */
  #textAt = -1
  #text = ''

  constructor(request: Json, ids: ResponseIds, createdAt: number) {
    super()
    this.#request = request
    this.#ids = ids
    this.#createdAt = createdAt
    this.#id = ids.response()
  }

  protected start(out: Buffer[]): void {
    const response = responseObject(this.#request, this.#id, this.#createdAt, undefined, [], null)
    this.#emit(out, { type: 'response.created', response })
    this.#emit(out, { type: 'response.in_progress', response })
  }

  protected openText(out: Buffer[]): void {
    this.#text = ''
    const item = messageItem(this.#ids.item(), [], 'in_progress')
    this.#textAt = this.#add(item, out)
    this.#emit(out, { type: 'response.content_part.added', ...this.#at(this.#textAt), part: outputText('') })
  }

  protected appendText(delta: string, out: Buffer[]): void {
    this.#text += delta
    this.#emit(out, {
      type: 'response.output_text.delta',
      ...this.#at(this.#textAt),
      delta,
      logprobs: [],
    })
  }

  protected closeText(out: Buffer[]): void {
    const text = this.#text
    const where = this.#at(this.#textAt)
    this.#emit(out, { type: 'response.output_text.done', ...where, text, logprobs: [] })
    this.#emit(out, { type: 'response.content_part.done', ...where, part: outputText(text) })
    this.#done(this.#textAt, messageItem(where.item_id, [outputText(text)], this.#status()), out)
  }

  protected openTool(call: ToolCallState, out: Buffer[]): void {
    call.slot = this.#add(functionCallItem(this.#ids.item(), call, '', 'in_progress'), out)
  }

  protected appendArguments(call: ToolCallState, delta: string, out: Buffer[]): void {
    const { item_id, output_index } = this.#at(call.slot)
    this.#emit(out, { type: 'response.function_call_arguments.delta', item_id, output_index, delta })
  }

  protected closeTool(call: ToolCallState, out: Buffer[]): void {
    const { item_id, output_index } = this.#at(call.slot)
    const args = call.arguments
    this.#emit(out, { type: 'response.function_call_arguments.done', item_id, output_index, arguments: args })
    this.#done(output_index, functionCallItem(item_id, call, args, this.#status()), out)
  }

  protected end(out: Buffer[]): void {
    const finish = this.finishReason ?? 'stop'
    const response = responseObject(
      this.#request,
      this.#id,
      this.#createdAt,
      finish,
      this.#output,
      responsesUsage(this.chatUsage),
    )
    const type = responseStatus(finish) === 'incomplete' ? 'response.incomplete' : 'response.completed'
    this.#emit(out, { type, response })
  }

  /** The status of an item closing now: the finish reason decides for the item it cut. */
  #status(): 'completed' | 'incomplete' {
    return this.finishReason === null ? 'completed' : responseStatus(this.finishReason)
  }

  #at(output_index: number): { item_id: string; output_index: number; content_index: number } {
    return { item_id: this.#output[output_index].id, output_index, content_index: 0 }
  }

  #add(item: Json, out: Buffer[]): number {
    const output_index = this.#output.length
    this.#output.push(item)
    this.#emit(out, { type: 'response.output_item.added', output_index, item })
    return output_index
  }

  #done(output_index: number, item: Json, out: Buffer[]): void {
    this.#output[output_index] = item
    this.#emit(out, { type: 'response.output_item.done', output_index, item })
  }

  #emit(out: Buffer[], event: Json & { type: string }): void {
    out.push(sseEvent({ ...event, sequence_number: this.#sequence++ }))
  }
}
