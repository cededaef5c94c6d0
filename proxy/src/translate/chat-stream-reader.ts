import { openAIErrorFromJson, parseChatChunk, readUsage } from '../providers/chat-wire.ts'
import type { SseEvent } from '../providers/sse.ts'
import type { Json, ProviderErrorBody, StreamTranslator, Usage } from '../providers/types.ts'

/** One tool call of a chat stream, assembled from its fragments. */
export interface ToolCallState {
  /** The call's `index` in the chat stream. */
  readonly index: number
  id: string
  name: string
  arguments: string
  /** Where the translation put it (content block index, output index); set by `openTool`. */
  slot: number
}

/**
 * Reads an OpenAI chat stream as a sequence of answer parts for a translation into a wire whose
 * stream is made of parts opened and closed in turn (Anthropic content blocks, Responses output
 * items): one part is open at a time, text or one tool call, and a switch closes the open one.
 *
 * Chat streams send a tool call's fragments together; a fragment for a call already closed is
 * still handed to `appendArguments` (the translation addresses parts by index, so it lands in the
 * right one) rather than opening a second part for the same call.
 */
export abstract class ChatStreamReader implements StreamTranslator {
  done = false
  answerEvents = 0
  usage: Usage | undefined
  error: ProviderErrorBody | undefined
  /** The chat usage object as sent: its details (cached, reasoning tokens) are not in `usage`. */
  protected chatUsage: Json = undefined
  protected finishReason: string | null = null

  #started = false
  #open: 'text' | ToolCallState | undefined
  readonly #tools = new Map<number, ToolCallState>()

  protected abstract start(out: Buffer[]): void
  protected abstract openText(out: Buffer[]): void
  protected abstract appendText(text: string, out: Buffer[]): void
  protected abstract closeText(out: Buffer[]): void
  protected abstract openTool(call: ToolCallState, out: Buffer[]): void
  protected abstract appendArguments(call: ToolCallState, fragment: string, out: Buffer[]): void
  protected abstract closeTool(call: ToolCallState, out: Buffer[]): void
  /** The terminator: every part is closed, the usage is known if the upstream sent it. */
  protected abstract end(out: Buffer[]): void

  translate(event: SseEvent, out: Buffer[]): void {
    const data = event.data
    if (data === '') return
    if (data === '[DONE]') {
      this.#start(out)
      this.#close(out)
      this.end(out)
      this.done = true
      return
    }
    const chunk = parseChatChunk(data)
    if (chunk.error) {
      this.error = openAIErrorFromJson(chunk.error)
      return
    }
    if (chunk.usage) {
      this.usage = readUsage(chunk.usage)
      this.chatUsage = chunk.usage
    }
    this.#start(out)
    // Only the first choice is translated: neither target wire has `n`.
    const choice = chunk.choices.find((c: Json) => (c?.index ?? 0) === 0)
    if (choice && this.#read(choice, out)) this.answerEvents++
  }

  /** Translates one choice's delta; true when it carried part of the answer. */
  #read(choice: Json, out: Buffer[]): boolean {
    let answer = false
    const delta = choice.delta
    const text = delta?.content || delta?.refusal
    if (typeof text === 'string' && text !== '') {
      if (this.#open !== 'text') {
        this.#close(out)
        this.openText(out)
        this.#open = 'text'
      }
      this.appendText(text, out)
      answer = true
    }
    if (Array.isArray(delta?.tool_calls)) {
      for (const fragment of delta.tool_calls) {
        this.#toolFragment(fragment, out)
        answer = true
      }
    }
    if (choice.finish_reason != null) {
      this.finishReason = choice.finish_reason
      this.#close(out)
      answer = true
    }
    return answer
  }

  #toolFragment(fragment: Json, out: Buffer[]): void {
    const index = typeof fragment?.index === 'number' ? fragment.index : 0
    let call = this.#tools.get(index)
    if (call === undefined) {
      this.#close(out)
      call = { index, id: fragment?.id ?? '', name: fragment?.function?.name ?? '', arguments: '', slot: -1 }
      this.#tools.set(index, call)
      this.openTool(call, out)
      this.#open = call
    }
    const args = fragment?.function?.arguments
    if (typeof args === 'string' && args !== '') {
      call.arguments += args
      this.appendArguments(call, args, out)
    }
  }

  #start(out: Buffer[]): void {
    if (this.#started) return
    this.#started = true
    this.start(out)
  }

  #close(out: Buffer[]): void {
    const open = this.#open
    if (open === undefined) return
    this.#open = undefined
    if (open === 'text') this.closeText(out)
    else this.closeTool(open, out)
  }
}
