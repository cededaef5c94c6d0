import { ChatStreamReader, type ToolCallState } from './chat-stream-reader.ts'
import { messagesUsage, stopReason, toolUseId } from './messages-answer.ts'
import { sseEvent } from './sse-event.ts'

/**
 * OpenAI chat.completion.chunk events -> the Anthropic Messages stream: message_start on the
 * first chunk, one content block per text run or tool call (content_block_start / _delta / _stop),
 * then message_delta and message_stop on [DONE].
 *
 * The stop reason is held back from the finish chunk to [DONE] because the chat usage chunk comes
 * between the two, and message_delta is where an Anthropic client reads the final usage.
 */
export class ChatToMessagesStream extends ChatStreamReader {
  readonly #model: string
  readonly #id: string
  #blocks = 0

  constructor(model: string, id: string) {
    super()
    this.#model = model
    this.#id = id
  }

  protected start(out: Buffer[]): void {
    out.push(
      sseEvent({
        type: 'message_start',
        message: {
          id: this.#id,
          type: 'message',
          role: 'assistant',
          model: this.#model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          container: null,
          diagnostics: null,
          // Known only at the end of a chat stream; message_delta carries the real counts.
          usage: messagesUsage(undefined),
        },
      }),
    )
  }

  protected openText(out: Buffer[]): void {
    out.push(
      sseEvent({
        type: 'content_block_start',
        index: this.#blocks,
        content_block: { type: 'text', text: '' },
      }),
    )
  }

  protected appendText(text: string, out: Buffer[]): void {
    out.push(
      sseEvent({ type: 'content_block_delta', index: this.#blocks, delta: { type: 'text_delta', text } }),
    )
  }

  protected closeText(out: Buffer[]): void {
    out.push(sseEvent({ type: 'content_block_stop', index: this.#blocks++ }))
  }

  protected openTool(call: ToolCallState, out: Buffer[]): void {
    call.slot = this.#blocks
    out.push(
      sseEvent({
        type: 'content_block_start',
        index: call.slot,
        content_block: {
          type: 'tool_use',
          id: toolUseId(call.id, this.#id, call.index),
          name: call.name,
          input: {},
        },
      }),
    )
  }

  protected appendArguments(call: ToolCallState, fragment: string, out: Buffer[]): void {
    out.push(
      sseEvent({
        type: 'content_block_delta',
        index: call.slot,
        delta: { type: 'input_json_delta', partial_json: fragment },
      }),
    )
  }

  protected closeTool(call: ToolCallState, out: Buffer[]): void {
    out.push(sseEvent({ type: 'content_block_stop', index: call.slot }))
    this.#blocks++
  }

  protected end(out: Buffer[]): void {
    out.push(
      sseEvent({
        type: 'message_delta',
        delta: {
          stop_reason: stopReason(this.finishReason),
          stop_sequence: null,
          stop_details: null,
          container: null,
        },
        usage: messagesUsage(this.chatUsage),
      }),
      sseEvent({ type: 'message_stop' }),
    )
  }
}
