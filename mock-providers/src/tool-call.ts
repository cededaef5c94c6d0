import { decode, encode } from 'gpt-tokenizer/encoding/o200k_base'
import { hashString, xorshift32 } from './random.ts'
import { AS_TEXT } from './tokens.ts'
import { argumentEntries } from './tool-arguments.ts'

/** The tool a request forces the model to call: its name and its JSON schema. */
export interface ToolSpec {
  readonly name: string
  readonly schema: unknown
}

/** A generated call of a forced tool, ready for both wires to render. */
export interface ToolCall {
  /** The tool name as a JSON string. */
  readonly nameJson: string
  /** The arguments as JSON text; when max_tokens cut them, a prefix that no longer parses. */
  readonly arguments: string
  /** `arguments` as a JSON string (OpenAI sends the arguments as a string). */
  readonly argumentsJson: string
  /** The arguments in the pieces a stream sends, each as a JSON string. */
  readonly piecesJson: readonly string[]
  /** Tokens each piece carries; they add up to `tokens`. */
  readonly pieceTokens: readonly number[]
  /** Completion tokens: o200k_base tokens of the arguments. */
  readonly tokens: number
  readonly truncated: boolean
  /** The input object Anthropic reports: the arguments, or when cut, the top-level properties complete before the cut. */
  readonly input: string
}

/** Characters of `text` its first `count` tokens cover, never splitting a character across tokens. */
function prefixLength(text: string, tokens: readonly number[], count: number): number {
  for (let end = count; end > 0; end--) {
    const prefix = decode(tokens.slice(0, end))
    if (text.startsWith(prefix)) return prefix.length
  }
  return 0
}

/**
 * The call of `tool` for a request's content seed: arguments generated from the tool's schema,
 * cut to `limit` tokens (the request's max_tokens), streamed in 2 to 4 pieces on token boundaries.
 */
export function createToolCall(tool: ToolSpec, contentSeed: number, limit: number | null): ToolCall {
  const seed = hashString(tool.name, contentSeed)
  const entries = argumentEntries(tool.schema, seed)
  const whole = `{${entries.join(',')}}`
  let tokens = encode(whole, AS_TEXT)
  let text = whole
  let input = whole
  const truncated = limit !== null && limit < tokens.length
  if (truncated) {
    text = whole.slice(0, prefixLength(whole, tokens, limit))
    tokens = tokens.slice(0, limit)
    let complete = 0
    let end = 1 // after the opening brace
    for (; complete < entries.length; complete++) {
      end += (complete > 0 ? 1 : 0) + entries[complete].length
      if (end > text.length) break
    }
    input = `{${entries.slice(0, complete).join(',')}}`
  }
  const count = Math.min(2 + (xorshift32(seed) % 3), tokens.length)
  const piecesJson: string[] = []
  const pieceTokens: number[] = []
  let from = 0
  let fromToken = 0
  for (let i = 1; i <= count; i++) {
    const toToken = Math.round((tokens.length * i) / count)
    const to = i === count ? text.length : prefixLength(text, tokens, toToken)
    piecesJson.push(JSON.stringify(text.slice(from, to)))
    pieceTokens.push(toToken - fromToken)
    from = to
    fromToken = toToken
  }
  return {
    nameJson: JSON.stringify(tool.name),
    arguments: text,
    argumentsJson: JSON.stringify(text),
    piecesJson,
    pieceTokens,
    tokens: tokens.length,
    truncated,
    input,
  }
}
