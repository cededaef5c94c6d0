import { parseArguments } from '../providers/anthropic-translate.ts'
import type { Json } from '../providers/types.ts'

// OpenAI chat answers -> Anthropic Messages answers (the mirror of providers/anthropic-translate.ts).

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
}

export function stopReason(finishReason: Json): string {
  return STOP_REASONS[finishReason] ?? 'end_turn'
}

/**
 * Anthropic counts cached input apart from `input_tokens`, OpenAI inside `prompt_tokens`: the
 * cached part moves to `cache_read_input_tokens` so that the three add up to the prompt, as
 * anthropicUsage() adds them back the other way.
 */
export function messagesUsage(usage: Json): Json {
  const prompt = typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : 0
  const cached = usage?.prompt_tokens_details?.cached_tokens
  const cacheRead = typeof cached === 'number' ? Math.min(cached, prompt) : 0
  return {
    input_tokens: prompt - cacheRead,
    output_tokens: typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cacheRead,
  }
}

/** `chatcmpl-abc` -> `msg_abc`: clients recognise a message id by its prefix. */
export function messageId(completionId: Json): string {
  if (typeof completionId !== 'string' || completionId === '') return 'msg_proxy'
  if (completionId.startsWith('msg_')) return completionId
  return `msg_${completionId.replace(/^chatcmpl-/, '')}`
}

/** A tool_use id for a call the provider sent without one: Anthropic requires it. */
export function toolUseId(callId: Json, messageId: string, index: number): string {
  return typeof callId === 'string' && callId !== '' ? callId : `toolu_${messageId.slice(4)}_${index}`
}

/** OpenAI chat.completion (its first choice) -> Anthropic Message. */
export function chatCompletionToMessage(completion: Json, model: string, id?: string): Json {
  const messageIdValue = id ?? messageId(completion?.id)
  const choice = completion?.choices?.[0]
  const message = choice?.message ?? {}
  const content: Json[] = []
  const text =
    typeof message.content === 'string' && message.content !== '' ? message.content : message.refusal
  if (typeof text === 'string' && text !== '') content.push({ type: 'text', text })
  const calls: Json[] = Array.isArray(message.tool_calls) ? message.tool_calls : []
  for (const [index, call] of calls.entries()) {
    content.push({
      type: 'tool_use',
      id: toolUseId(call?.id, messageIdValue, index),
      name: call?.function?.name ?? '',
      input: parseArguments(call?.function?.arguments),
    })
  }
  return {
    id: messageIdValue,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: messagesUsage(completion?.usage),
  }
}
