import type { Json, ProviderErrorBody, Usage } from './types.ts'

// Translation between the OpenAI chat wire and the Anthropic Messages wire.

export const STOP_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
}

function textOf(content: Json): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .filter((p: Json) => p?.type === 'text')
      .map((p: Json) => p.text)
      .join('\n')
  }
  return ''
}

function toBlocks(content: Json): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }]
  if (!Array.isArray(content)) return []
  const blocks: Json[] = []
  for (const part of content) {
    if (part?.type === 'text') blocks.push({ type: 'text', text: part.text })
    else if (part?.type === 'image_url') {
      const url: string = typeof part.image_url === 'string' ? part.image_url : part.image_url?.url
      const data = /^data:([^;]+);base64,(.*)$/s.exec(url ?? '')
      blocks.push({
        type: 'image',
        source: data ? { type: 'base64', media_type: data[1], data: data[2] } : { type: 'url', url },
      })
    }
  }
  return blocks
}

/** Tool call arguments as the JSON object Anthropic's `input` must be; other text is kept, not lost. */
export function parseArguments(text: Json): Json {
  if (typeof text !== 'string' || text.trim() === '') return {}
  try {
    const input = JSON.parse(text)
    return input !== null && typeof input === 'object' && !Array.isArray(input) ? input : { _raw: text }
  } catch {
    return { _raw: text }
  }
}

/** OpenAI chat request -> Anthropic Messages request. */
export function toAnthropicRequest(
  body: Record<string, Json>,
  model: string,
  defaultMaxTokens: number,
): Json {
  const system: string[] = []
  const messages: { role: 'user' | 'assistant'; content: Json[] }[] = []
  const append = (role: 'user' | 'assistant', blocks: Json[]) => {
    const last = messages[messages.length - 1]
    if (last && last.role === role) last.content.push(...blocks)
    else messages.push({ role, content: blocks })
  }
  for (const m of body.messages as Json[]) {
    if (m.role === 'system' || m.role === 'developer') system.push(textOf(m.content))
    else if (m.role === 'user') append('user', toBlocks(m.content))
    else if (m.role === 'assistant') {
      const blocks = toBlocks(m.content)
      for (const call of m.tool_calls ?? []) {
        blocks.push({
          type: 'tool_use',
          id: call.id,
          name: call.function?.name,
          input: parseArguments(call.function?.arguments),
        })
      }
      append('assistant', blocks)
    } else if (m.role === 'tool' || m.role === 'function') {
      append('user', [
        { type: 'tool_result', tool_use_id: m.tool_call_id ?? m.name, content: textOf(m.content) },
      ])
    }
  }

  const out: Json = {
    model,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? defaultMaxTokens,
    messages,
  }
  if (system.length) out.system = system.join('\n\n')
  if (typeof body.temperature === 'number') out.temperature = Math.min(body.temperature, 1)
  if (typeof body.top_p === 'number') out.top_p = body.top_p
  if (body.stop != null) out.stop_sequences = Array.isArray(body.stop) ? body.stop : [body.stop]
  if (body.stream === true) out.stream = true
  if (typeof body.user === 'string') out.metadata = { user_id: body.user }
  if (Array.isArray(body.tools) && body.tools.length) {
    out.tools = body.tools.map((t: Json) => ({
      name: t.function?.name,
      description: t.function?.description,
      input_schema: t.function?.parameters ?? { type: 'object', properties: {} },
    }))
    const choice = body.tool_choice
    if (choice === 'auto') out.tool_choice = { type: 'auto' }
    else if (choice === 'required') out.tool_choice = { type: 'any' }
    else if (choice === 'none') out.tool_choice = { type: 'none' }
    else if (choice?.function?.name) out.tool_choice = { type: 'tool', name: choice.function.name }
  }
  return out
}

export function anthropicUsage(usage: Json, outputTokens?: number): Usage {
  const prompt =
    (usage?.input_tokens ?? 0) +
    (usage?.cache_read_input_tokens ?? 0) +
    (usage?.cache_creation_input_tokens ?? 0)
  const completion = outputTokens ?? usage?.output_tokens ?? 0
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

/** Anthropic message -> OpenAI chat.completion. */
export function toOpenAICompletion(message: Json, created: number): Json & { usage: Usage } {
  let text = ''
  const toolCalls: Json[] = []
  for (const block of message.content) {
    if (block.type === 'text') text += block.text
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      })
    }
  }
  const assistant: Json = { role: 'assistant', content: text === '' && toolCalls.length ? null : text }
  if (toolCalls.length) assistant.tool_calls = toolCalls
  return {
    id: message.id,
    object: 'chat.completion',
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: assistant,
        finish_reason: STOP_REASONS[message.stop_reason] ?? 'stop',
        logprobs: null,
      },
    ],
    usage: anthropicUsage(message.usage),
  }
}

const ERROR_TYPES: Record<string, string> = {
  invalid_request_error: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  not_found_error: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  rate_limit_error: 'rate_limit_error',
  api_error: 'server_error',
  overloaded_error: 'server_error',
}

export function anthropicErrorFromJson(error: Json): ProviderErrorBody {
  const message = typeof error?.message === 'string' ? error.message : 'provider error'
  const type = typeof error?.type === 'string' ? error.type : 'api_error'
  let code: string | null = type
  if (type === 'invalid_request_error' && /too long|context (window|length)/i.test(message)) {
    code = 'context_length_exceeded'
  } else if (type === 'not_found_error') code = 'model_not_found'
  return { message, type: ERROR_TYPES[type] ?? 'upstream_error', code, param: null }
}

export function anthropicErrorBody(status: number, body: Buffer): ProviderErrorBody {
  try {
    const parsed = JSON.parse(body.toString('utf8'))
    if (parsed?.error) return anthropicErrorFromJson(parsed.error)
  } catch {}
  return { message: `provider answered ${status}`, type: 'upstream_error', code: null, param: null }
}
