import type { Json } from './types.ts'

/** A JSON string body: unescaped characters (not a quote, a backslash or a control) and escapes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may not hold raw control characters: the class leaves them out
const STRING_BODY = /^(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})+$/
const CONTENT_KEY = '"content":"'

/**
 * The bytes around the content of a plain content chunk of a chat stream. Within one stream the
 * provider sends the same chunk again and again with only the text of `delta.content` changed (the
 * same id, created, model, index, logprobs and finish_reason), so a chunk that is this template's
 * head, then a non-empty JSON string body, then its tail, is valid JSON with the same structure:
 * a chat.completion.chunk whose one choice carries text, no usage, no error. Checked with two
 * string comparisons and a regular expression instead of a full parse (JSON.parse and the objects
 * it builds were the largest single cost of a streamed event). Any other chunk is parsed.
 */
export class ContentTemplate {
  readonly #head: string
  readonly #tail: string

  private constructor(head: string, tail: string) {
    this.#head = head
    this.#tail = tail
  }

  /**
   * The template of `data` (already parsed into `chunk`), when it is a plain content chunk: one
   * choice, a delta of non-empty text alone, no finish reason, no usage, no error. Undefined otherwise.
   */
  static of(data: string, chunk: Json): ContentTemplate | undefined {
    if (chunk?.error !== undefined || chunk?.usage) return undefined
    const choices = chunk.choices
    if (!Array.isArray(choices) || choices.length !== 1) return undefined
    const choice = choices[0]
    const delta = choice?.delta
    if (choice?.finish_reason != null || delta === null || typeof delta !== 'object') return undefined
    const keys = Object.keys(delta)
    const content = delta.content
    if (keys.length !== 1 || typeof content !== 'string' || content === '') return undefined
    const at = data.lastIndexOf(CONTENT_KEY)
    if (at === -1) return undefined
    const start = at + CONTENT_KEY.length
    const end = stringEnd(data, start)
    if (end === -1) return undefined
    const body = data.slice(start, end)
    // The string found is the content (not another field that happens to hold `"content":"`).
    if (!STRING_BODY.test(body) || JSON.parse(`"${body}"`) !== content) return undefined
    return new ContentTemplate(data.slice(0, start), data.slice(end))
  }

  /** `data` is this template with another non-empty, well-formed text in place of the content. */
  matches(data: string): boolean {
    const head = this.#head
    const tail = this.#tail
    const end = data.length - tail.length
    // Slices compared with ===, not startsWith/endsWith: V8 falls back to a slow path for those
    // on the sliced strings the SSE reader hands out (1-1.4 µs against 0.1).
    return (
      end > head.length &&
      data.slice(0, head.length) === head &&
      data.slice(end) === tail &&
      STRING_BODY.test(data.slice(head.length, end))
    )
  }
}

/** The index of the quote closing the string whose body starts at `from`, or -1. */
function stringEnd(data: string, from: number): number {
  for (let i = from; i < data.length; i++) {
    const c = data.charCodeAt(i)
    if (c === 0x22) return i
    if (c === 0x5c) i++
  }
  return -1
}
