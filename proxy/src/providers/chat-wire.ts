import type { Json, ProviderErrorBody, Usage } from './types.ts'

// The OpenAI chat wire's primitives, shared by the OpenAI adapter and the translations that read
// chat chunks (translate/): kept apart so that neither imports the other.

/**
 * One `data:` payload of a chat stream other than [DONE]: a chat.completion.chunk (with its
 * choices) or an error event (with its `error`, to check first). Anything else throws.
 */
export function parseChatChunk(data: string): Json {
  let chunk: Json
  try {
    chunk = JSON.parse(data)
  } catch {
    throw new SyntaxError('unreadable chunk in the provider stream (not JSON)')
  }
  if (!chunk?.error && !Array.isArray(chunk?.choices)) {
    throw new SyntaxError('a chunk of the provider stream has no choices')
  }
  return chunk
}

/** Text, a tool call, a refusal or a finish reason: part of the answer (a role alone is not). */
export function carriesAnswer(choices: Json[]): boolean {
  for (const c of choices) {
    const d = c?.delta
    if (c?.finish_reason != null) return true
    if (!d) continue
    if ((typeof d.content === 'string' && d.content !== '') || d.refusal) return true
    if ((Array.isArray(d.tool_calls) && d.tool_calls.length > 0) || d.function_call) return true
  }
  return false
}

export function readUsage(usage: Json): Usage | undefined {
  if (!usage || typeof usage.prompt_tokens !== 'number') return undefined
  const completion = typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: completion,
    total_tokens:
      typeof usage.total_tokens === 'number' ? usage.total_tokens : usage.prompt_tokens + completion,
  }
}

export function openAIErrorFromJson(error: Json): ProviderErrorBody {
  return {
    message: typeof error?.message === 'string' ? error.message : 'provider error',
    type: typeof error?.type === 'string' ? error.type : 'upstream_error',
    code: typeof error?.code === 'string' ? error.code : null,
    param: typeof error?.param === 'string' ? error.param : null,
  }
}

/**
 * The token counts of a usage object whose bytes follow `at` in `buf`, read without parsing it (or
 * its nested details); undefined when the prompt and completion counts cannot be read that way.
 */
export function usageAfter(buf: Buffer, at: number): Usage | undefined {
  const tail = buf.toString('latin1', at)
  const prompt = numberIn(tail, '"prompt_tokens"')
  const completion = numberIn(tail, '"completion_tokens"')
  if (prompt === undefined || completion === undefined) return undefined
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: numberIn(tail, '"total_tokens"') ?? prompt + completion,
  }
}

/** The non-negative integer after `key` (and its colon) in JSON text, or undefined. */
export function numberIn(text: string, key: string): number | undefined {
  let i = text.indexOf(key)
  if (i === -1) return undefined
  i += key.length
  while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 58 /* : */) i++
  let n = 0
  const start = i
  for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) n = n * 10 + (c - 48)
  return i > start ? n : undefined
}

const USAGE_OPTION = Buffer.from('{"stream_options":{"include_usage":true},')

/** A JSON object's bytes with the usage option as its first member; undefined if not an object with members. */
export function withUsageOption(raw: Buffer): Buffer | undefined {
  let open = 0
  while (open < raw.length && raw[open] <= 0x20) open++
  if (raw[open] !== 0x7b) return undefined
  let next = open + 1
  while (next < raw.length && raw[next] <= 0x20) next++
  if (raw[next] !== 0x22) return undefined
  return Buffer.concat([USAGE_OPTION, raw.subarray(next)])
}
