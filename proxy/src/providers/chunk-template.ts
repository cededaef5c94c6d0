import { usageAfter } from './chat-wire.ts'
import type { Json, Usage } from './types.ts'

/** A JSON string body: unescaped characters (not a quote, a backslash or a control) and escapes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may not hold raw control characters: the class leaves them out
const STRING_BODY = /^(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})+$/
const CONTENT_KEY = '"content":"'
const CHOICES_KEY = '"choices":['
/** After the choices' `[` of a usage chunk: no choices, then the usage object, which ends the chunk. */
const NO_CHOICES_USAGE = Buffer.from('],"usage":{')
const CHUNK_END = Buffer.from('}}\n\n')
// A usage object as providers send it, whole: counts (or null) by key, and objects of them one level
// down (prompt_tokens_details, ...), no whitespace. Anything else is left to the parser.
const NUMBER = '(?:0|[1-9]\\d*|null)'
const COUNT = `"[a-z0-9_]+":${NUMBER}`
const DETAILS = `\\{(?:${COUNT}(?:,${COUNT})*)?\\}`
const MEMBER = `"[a-z0-9_]+":(?:${NUMBER}|${DETAILS})`
const USAGE_OBJECT = new RegExp(`^\\{${MEMBER}(?:,${MEMBER})*\\}$`)
const LF = 0x0a

/**
 * The bytes around the content of a plain content event of a chat stream. Within one stream the
 * provider sends the same chunk again and again with only the text of `delta.content` changed (the
 * same id, created, model, index, logprobs and finish_reason), so an event that is this template's
 * head, then the bytes of a non-empty JSON string body, then its tail, is valid JSON with the same
 * structure: a chat.completion.chunk whose one choice carries text, no usage, no error. Checked on
 * the event's bytes, with two comparisons and one pass over the text, instead of decoding and
 * parsing it (decoding, JSON.parse and the objects it builds were the largest cost of a streamed
 * event). Any other event is decoded and parsed.
 */
export class ContentTemplate {
  readonly #head: Buffer
  readonly #tail: Buffer
  /** Where the head's top-level choices array opens (just past its `[`), or -1 when not known. */
  readonly #choices: number

  private constructor(head: Buffer, tail: Buffer) {
    this.#head = head
    this.#tail = tail
    // The head's one `"choices":[` is the chunk's own key: a string cannot hold its unescaped quotes,
    // and a second one (a nested key) would leave it unclear which is which.
    const at = head.indexOf(CHOICES_KEY)
    this.#choices = at !== -1 && head.indexOf(CHOICES_KEY, at + 1) === -1 ? at + CHOICES_KEY.length : -1
  }

  /**
   * The template of the event `raw`, whose data (`data`) is already parsed into `chunk`, when it is
   * a plain content chunk (one choice, a delta of non-empty text alone, no finish reason, no usage,
   * no error) framed as one `data: ` line and a blank line. Undefined otherwise.
   */
  static of(raw: Buffer, data: string, chunk: Json): ContentTemplate | undefined {
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
    const head = Buffer.from(`data: ${data.slice(0, start)}`)
    const tail = Buffer.from(`${data.slice(end)}\n\n`)
    // Other framings (CRLF, `data:` without its space, several lines) are parsed every time.
    if (raw.length !== head.length + Buffer.byteLength(body) + tail.length) return undefined
    // One line: the blank line closing the tail is the first line break of a matching event, so
    // an event found by `endAt` ends where the SSE framing ends it.
    if (head.includes(LF) || tail.indexOf(LF) !== tail.length - 2) return undefined
    const template = new ContentTemplate(head, tail)
    return template.endAt(raw, 0) === raw.length ? template : undefined
  }

  /**
   * The token counts of the stream's usage chunk when `raw` is one, read from its bytes: this
   * template's chunk up to its choices, no choices, then a usage object of counts ending the chunk
   * (USAGE_OBJECT), framed as one line: valid JSON, as the parser would find it. The proxy drops that chunk for a client that did not ask for usage and keeps nothing
   * of it but the counts. Undefined for any other event (which is parsed).
   */
  usageOf(raw: Buffer): Usage | undefined {
    const at = this.#choices
    const end = raw.length - CHUNK_END.length
    if (at === -1 || end <= at + NO_CHOICES_USAGE.length) return undefined
    if (raw.compare(this.#head, 0, at, 0, at) !== 0 || !sameAt(raw, NO_CHOICES_USAGE, at)) return undefined
    if (!sameAt(raw, CHUNK_END, end)) return undefined
    // From the usage's `{` to its `}`: then the event is this chunk's valid JSON, on one line.
    const usage = at + NO_CHOICES_USAGE.length - 1
    if (!USAGE_OBJECT.test(raw.toString('latin1', usage, end + 1))) return undefined
    return usageAfter(raw, usage)
  }

  /** `raw` is this template with another non-empty, well-formed text in place of the content. */
  matches(raw: Buffer): boolean {
    return this.endAt(raw, 0) === raw.length
  }

  /**
   * Where the event starting at `at` in `buf` ends when it is this template with another
   * non-empty, well-formed text in place of the content; -1 otherwise. The head is compared at
   * once (natively: it is most of the event), the text scanned up to its closing quote, where the
   * tail must follow.
   */
  endAt(buf: Buffer, at: number): number {
    const head = this.#head
    const tail = this.#tail
    const text = at + head.length
    if (text >= buf.length || buf.compare(head, 0, head.length, at, text) !== 0) return -1
    const quote = closingQuote(buf, text)
    if (quote <= text) return -1
    const end = quote + tail.length
    return end <= buf.length && sameAt(buf, tail, quote) ? end : -1
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

/**
 * The index of the quote closing the JSON string whose body starts at `from` in `buf`, when the
 * bytes up to it are a well-formed body (as STRING_BODY says of text: no control byte, and a
 * backslash only in a valid escape); -1 otherwise, or when `buf` ends first. Bytes of UTF-8
 * sequences are never below 0x80, so they cannot be mistaken for a quote, a backslash or a control.
 */
function closingQuote(buf: Buffer, from: number): number {
  const length = buf.length
  for (let i = from; i < length; i++) {
    const c = buf[i] as number
    if (c === 0x22) return i
    if (c < 0x20) return -1
    if (c !== 0x5c) continue
    const e = ++i < length ? buf[i] : -1
    if (e === 0x75 /* u */) {
      if (i + 4 >= length) return -1
      for (let k = 1; k <= 4; k++) if (!isHex(buf[i + k] as number)) return -1
      i += 4
    } else if (
      !(
        e === 0x22 ||
        e === 0x5c ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      )
    )
      return -1
  }
  return -1
}

/** `buf` holds the bytes of `part` from `at` (a loop: Buffer#compare's checks cost more on short parts). */
function sameAt(buf: Buffer, part: Buffer, at: number): boolean {
  for (let i = part.length - 1; i >= 0; i--) if (buf[at + i] !== part[i]) return false
  return true
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}
