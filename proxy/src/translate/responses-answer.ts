import type { Json } from '../providers/types.ts'

// OpenAI chat answers -> OpenAI Responses answers: the Response object, shared by the answer and
// the stream (whose lifecycle events carry it whole).

/** Where the ids of a Response and of its output items come from (injected: tests reproduce). */
export interface ResponseIds {
  response(): string
  item(): string
}

type Status = 'in_progress' | 'completed' | 'incomplete'

const INCOMPLETE: Record<string, string> = { length: 'max_output_tokens', content_filter: 'content_filter' }

export function responseStatus(finishReason: Json): 'completed' | 'incomplete' {
  return INCOMPLETE[finishReason] ? 'incomplete' : 'completed'
}

export function responsesUsage(usage: Json): Json {
  if (typeof usage?.prompt_tokens !== 'number') return null
  const output = typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : usage.prompt_tokens + output,
  }
}

export function outputText(text: string): Json {
  return { type: 'output_text', text, annotations: [] }
}

export function messageItem(id: string, content: Json[], status: Status): Json {
  return { type: 'message', id, status, role: 'assistant', content }
}

export function functionCallItem(
  id: string,
  call: { readonly id?: string; readonly name: string },
  args: string,
  status: Status,
): Json {
  return {
    type: 'function_call',
    id,
    call_id: call.id || `call_${id}`,
    name: call.name,
    arguments: args,
    status,
  }
}

/**
 * The Response object: the fields the SDK's `Response` type requires, the request's settings
 * echoed as the API does, and no `output_text` (the SDK derives it from `output`). Without a
 * finish reason (undefined) the response is still in progress.
 */
export function responseObject(
  request: Json,
  id: string,
  createdAt: number,
  finishReason: Json,
  output: Json[],
  usage: Json,
): Json {
  const status = finishReason === undefined ? 'in_progress' : responseStatus(finishReason)
  const response: Json = {
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: INCOMPLETE[finishReason] } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: request.metadata ?? {},
    model: request.model,
    output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: request.reasoning ?? null,
    temperature: request.temperature ?? null,
    text: request.text ?? { format: { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_p: request.top_p ?? null,
    truncation: 'disabled',
    usage,
    access_programs: null,
  }
  if (typeof request.user === 'string') response.user = request.user
  return response
}

/** OpenAI chat.completion (its first choice) -> OpenAI Response. */
export function chatCompletionToResponse(
  completion: Json,
  request: Json,
  ids: ResponseIds,
  createdAt: number,
): Json {
  const id = ids.response()
  const choice = completion?.choices?.[0]
  const message = choice?.message ?? {}
  const finishReason = choice?.finish_reason ?? 'stop'
  const output: Json[] = []
  const text =
    typeof message.content === 'string' && message.content !== '' ? message.content : message.refusal
  if (typeof text === 'string' && text !== '')
    output.push(messageItem(ids.item(), [outputText(text)], 'completed'))
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    const args = call?.function?.arguments
    const named = { id: call?.id, name: call?.function?.name ?? '' }
    output.push(functionCallItem(ids.item(), named, typeof args === 'string' ? args : '', 'completed'))
  }
  // The finish cut the last item, as the stream marks the item open when its finish comes.
  if (output.length > 0) output[output.length - 1].status = responseStatus(finishReason)
  return responseObject(request, id, createdAt, finishReason, output, responsesUsage(completion?.usage))
}
