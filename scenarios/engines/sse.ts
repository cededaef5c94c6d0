// Measures one server-sent-events stream as it arrives: time to the first content chunk (TTFT),
// every gap between content chunks (ITL), tokens, and whether it ended properly. A stream is
// truncated when it ends without `data: [DONE]` or carries an error event: such a stream counts as
// truncated AND as an error, since a client got a cut answer under a 200 status. A stream that ends
// properly without a single content chunk (text or a tool call's arguments) answered nothing: an
// error too (`empty_stream`), not truncated.
import { isErrorObject } from './answer.ts'
import type { StreamOutcome } from './recorder.ts'

export type StreamVerdict = StreamOutcome & {
  /** null for a healthy stream, else the error kind. */
  readonly kind: 'truncated_stream' | 'stream_error' | 'malformed_chunk' | 'empty_stream' | null
  readonly chunks: number
  /** A data line that was not JSON reached the client (whatever else the stream did). */
  readonly malformed: boolean
  /** The stream carried an error event. */
  readonly errorEvent: boolean
}

export class SseMeter {
  readonly #startMs: number
  readonly #now: () => number
  readonly #decoder = new TextDecoder()
  #buffer = ''
  #event = ''
  #data: string[] = []
  #lastContentMs = Number.NaN
  #ttftMs = Number.NaN
  readonly #itl: number[] = []
  #chunks = 0
  #usageTokens = -1
  #done = false
  #errorEvent = false
  #malformed = false

  /** startMs: the request's start (its intended send time in the open model), on the `now` clock. */
  constructor(startMs: number, now: () => number) {
    this.#startMs = startMs
    this.#now = now
  }

  push(chunk: Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true })
    const at = this.#now()
    this.#buffer += text
    let newline = this.#buffer.indexOf('\n')
    while (newline >= 0) {
      const line =
        this.#buffer.charCodeAt(newline - 1) === 13
          ? this.#buffer.slice(0, newline - 1)
          : this.#buffer.slice(0, newline)
      this.#buffer = this.#buffer.slice(newline + 1)
      this.#line(line, at)
      newline = this.#buffer.indexOf('\n')
    }
  }

  /** The stream ended (or was cut): the verdict. */
  finish(): StreamVerdict {
    if (this.#buffer.length > 0) this.#line(this.#buffer, this.#now())
    this.#buffer = ''
    if (this.#data.length > 0) this.#dispatch(this.#now())
    const truncated = !this.#done || this.#errorEvent
    const kind = this.#errorEvent
      ? 'stream_error'
      : !this.#done
        ? 'truncated_stream'
        : this.#malformed
          ? 'malformed_chunk'
          : this.#chunks === 0
            ? 'empty_stream'
            : null
    return {
      ttftMs: this.#ttftMs,
      itlMs: this.#itl,
      tokens: this.#usageTokens >= 0 ? this.#usageTokens : this.#chunks,
      truncated,
      kind,
      chunks: this.#chunks,
      malformed: this.#malformed,
      errorEvent: this.#errorEvent,
    }
  }

  #line(line: string, at: number): void {
    if (line === '') {
      if (this.#data.length > 0) this.#dispatch(at)
      this.#event = ''
      return
    }
    if (line.charCodeAt(0) === 58) return // ':' comment, e.g. `: ping` keep-alives
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    if (field === 'data') this.#data.push(value)
    else if (field === 'event') this.#event = value
  }

  #dispatch(at: number): void {
    const data = this.#data.join('\n')
    this.#data = []
    if (this.#event === 'error') {
      this.#errorEvent = true
      return
    }
    if (data === '[DONE]') {
      this.#done = true
      return
    }
    let payload: ChunkPayload
    try {
      payload = JSON.parse(data)
    } catch {
      this.#malformed = true
      return
    }
    if (payload === null || typeof payload !== 'object') {
      this.#malformed = true
      return
    }
    if (isErrorObject(payload)) {
      this.#errorEvent = true
      return
    }
    if (typeof payload.type === 'string') {
      this.#typed(payload, at)
      return
    }
    const tokens = payload.usage?.completion_tokens
    if (typeof tokens === 'number') this.#usageTokens = tokens
    const delta = payload.choices?.[0]?.delta
    this.#content(delta?.content ?? delta?.tool_calls?.[0]?.function?.arguments, at)
  }

  /**
   * The typed events of the Anthropic Messages and OpenAI Responses streams: text deltas are the
   * content, message_stop / response.completed (or .incomplete) the end, their usage the tokens.
   */
  #typed(payload: NonNullable<ChunkPayload>, at: number): void {
    switch (payload.type) {
      case 'content_block_delta':
        this.#content(payload.delta?.text ?? payload.delta?.partial_json, at)
        return
      case 'response.output_text.delta':
      case 'response.function_call_arguments.delta':
        this.#content(payload.delta, at)
        return
      case 'message_delta':
        if (typeof payload.usage?.output_tokens === 'number') this.#usageTokens = payload.usage.output_tokens
        return
      case 'message_stop':
        this.#done = true
        return
      case 'response.completed':
      case 'response.incomplete':
        if (typeof payload.response?.usage?.output_tokens === 'number')
          this.#usageTokens = payload.response.usage.output_tokens
        this.#done = true
        return
    }
  }

  #content(content: unknown, at: number): void {
    if (typeof content !== 'string' || content.length === 0) return
    this.#chunks++
    if (Number.isNaN(this.#lastContentMs)) this.#ttftMs = at - this.#startMs
    else this.#itl.push(at - this.#lastContentMs)
    this.#lastContentMs = at
  }
}

type ChunkPayload = {
  error?: unknown
  type?: string
  usage?: { completion_tokens?: unknown; output_tokens?: unknown } | null
  choices?: { delta?: { content?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] } }[]
  // biome-ignore lint/suspicious/noExplicitAny: a typed event's delta is a string (Responses) or an object (Messages).
  delta?: any
  response?: { usage?: { output_tokens?: unknown } }
} | null
