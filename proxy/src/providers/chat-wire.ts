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
