import type { Json } from '../providers/types.ts'
import { ClientInputError } from './errors.ts'

// OpenAI Responses request (its stateless subset) -> OpenAI chat completion request. What needs a
// store this proxy does not have is refused with the param to fix; `store` itself is accepted and
// ignored: nothing is kept, so a later request cannot refer to this one anyway.

const NO_STORE =
  'is not supported by this proxy: it keeps no responses. Send the whole conversation as `input`.'

/** Request fields with the same name and meaning on both wires. */
const SHARED = [
  'temperature',
  'top_p',
  'user',
  'metadata',
  'parallel_tool_calls',
  'service_tier',
  'safety_identifier',
  'prompt_cache_key',
] as const

function refuseStateful(body: Json): void {
  if (body.previous_response_id != null) {
    throw new ClientInputError('previous_response_id', `previous_response_id ${NO_STORE}`)
  }
  if (body.conversation != null) throw new ClientInputError('conversation', `conversation ${NO_STORE}`)
  if (body.background === true) {
    throw new ClientInputError(
      'background',
      'background responses are not supported by this proxy: it keeps no responses to poll.',
    )
  }
  if (body.prompt != null) {
    throw new ClientInputError(
      'prompt',
      'stored prompts are not supported by this proxy: send the prompt as `instructions` and `input`.',
    )
  }
}

function textOf(parts: Json[]): string {
  let text = ''
  for (const part of parts) if (typeof part?.text === 'string') text += part.text
  return text
}

/** A user (or system) content part -> a chat content part. */
function chatPart(part: Json, param: string): Json {
  switch (part?.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: part.text }
    case 'input_image': {
      if (typeof part.image_url !== 'string') {
        throw new ClientInputError(
          `${param}.image_url`,
          'images by file_id are not supported by this proxy: send image_url (a URL or a data URL).',
        )
      }
      const image: Json = { url: part.image_url }
      if (typeof part.detail === 'string') image.detail = part.detail
      return { type: 'image_url', image_url: image }
    }
    case 'input_file': {
      if (typeof part.file_data !== 'string' && typeof part.file_id !== 'string') {
        throw new ClientInputError(
          `${param}.file_data`,
          'files by file_url are not supported by this proxy: send file_data.',
        )
      }
      const file: Json = {}
      for (const key of ['file_data', 'file_id', 'filename'])
        if (typeof part[key] === 'string') file[key] = part[key]
      return { type: 'file', file }
    }
    default:
      throw new ClientInputError(
        `${param}.type`,
        `content parts of type ${part?.type} are not supported by this proxy.`,
      )
  }
}

function message(item: Json, param: string): Json {
  const role = item.role === 'developer' ? 'system' : item.role
  const content = item.content
  if (!Array.isArray(content)) return { role, content: typeof content === 'string' ? content : '' }
  if (role === 'assistant') {
    const refusal = content.find((p: Json) => p?.type === 'refusal')
    const out: Json = { role, content: textOf(content.filter((p: Json) => p?.type !== 'refusal')) }
    if (typeof refusal?.refusal === 'string') out.refusal = refusal.refusal
    return out
  }
  // Chat system messages hold text only.
  if (role === 'system') return { role, content: textOf(content) }
  return { role, content: content.map((part: Json, j: number) => chatPart(part, `${param}.content[${j}]`)) }
}

/** Appends a function_call item to the assistant turn it belongs to (chat keeps a turn's calls together). */
function functionCall(item: Json, messages: Json[]): void {
  const call = {
    id: item.call_id,
    type: 'function',
    function: { name: item.name, arguments: item.arguments ?? '' },
  }
  const last = messages[messages.length - 1]
  if (last?.role === 'assistant') {
    last.tool_calls ??= []
    last.tool_calls.push(call)
    if (last.content === '') last.content = null
  } else messages.push({ role: 'assistant', content: null, tool_calls: [call] })
}

function inputItem(item: Json, i: number, messages: Json[]): void {
  const param = `input[${i}]`
  switch (item?.type ?? (item?.role ? 'message' : undefined)) {
    case 'message':
      messages.push(message(item, param))
      return
    case 'function_call':
      functionCall(item, messages)
      return
    case 'function_call_output': {
      const output = item.output
      messages.push({
        role: 'tool',
        tool_call_id: item.call_id,
        content: typeof output === 'string' ? output : Array.isArray(output) ? textOf(output) : '',
      })
      return
    }
    case 'reasoning':
      return // replayed from an earlier answer; a chat provider cannot take it back
    case 'item_reference':
      throw new ClientInputError(param, `item references ${NO_STORE}`)
    default:
      throw new ClientInputError(
        `${param}.type`,
        `input items of type ${item?.type} are not supported by this proxy.`,
      )
  }
}

function chatTools(tools: Json[]): Json[] {
  return tools.map((tool: Json, i: number) => {
    if (tool?.type !== 'function') {
      throw new ClientInputError(
        `tools[${i}].type`,
        `${tool?.type} tools are not supported by this proxy: only function tools are.`,
      )
    }
    const fn: Json = { name: tool.name }
    if (typeof tool.description === 'string') fn.description = tool.description
    if (tool.parameters != null) fn.parameters = tool.parameters
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict
    return { type: 'function', function: fn }
  })
}

function chatToolChoice(choice: Json): Json {
  if (typeof choice === 'string') return choice
  if (choice?.type === 'function') return { type: 'function', function: { name: choice.name } }
  throw new ClientInputError(
    'tool_choice',
    `tool_choice of type ${choice?.type} is not supported by this proxy: use none, auto, required or a function.`,
  )
}

function responseFormat(format: Json): Json {
  if (format?.type === 'json_object') return { type: 'json_object' }
  if (format?.type !== 'json_schema') return undefined
  const schema: Json = { name: format.name, schema: format.schema }
  if (typeof format.description === 'string') schema.description = format.description
  if (typeof format.strict === 'boolean') schema.strict = format.strict
  return { type: 'json_schema', json_schema: schema }
}

/** OpenAI Responses request -> OpenAI chat completion request; throws ClientInputError. */
export function responsesToChatRequest(body: Json): Record<string, Json> {
  refuseStateful(body)
  const messages: Json[] = []
  if (typeof body.instructions === 'string' && body.instructions !== '') {
    messages.push({ role: 'system', content: body.instructions })
  }
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input })
  else if (Array.isArray(body.input)) {
    for (const [i, item] of body.input.entries()) inputItem(item, i, messages)
  }
  // Instructions alone ask nothing: without a stored conversation to continue, there is no question.
  if (!messages.some((m) => m.role !== 'system'))
    throw new ClientInputError('input', 'input: give the input, as text or as a non-empty list of items.')

  const out: Record<string, Json> = { model: body.model, messages }
  if (typeof body.max_output_tokens === 'number') out.max_tokens = body.max_output_tokens
  for (const key of SHARED) if (body[key] != null) out[key] = body[key]
  if (Array.isArray(body.tools) && body.tools.length > 0) out.tools = chatTools(body.tools)
  if (body.tool_choice != null) {
    const choice = chatToolChoice(body.tool_choice)
    // Chat refuses a tool_choice without tools.
    if (out.tools) out.tool_choice = choice
  }
  const format = responseFormat(body.text?.format)
  if (format) out.response_format = format
  if (typeof body.reasoning?.effort === 'string') out.reasoning_effort = body.reasoning.effort
  if (body.stream === true) {
    out.stream = true
    // The response.completed event carries the usage; chat streams send it only when asked.
    out.stream_options = { include_usage: true }
  }
  return out
}
