import { isMockError, type MockError, mockError } from './errors.ts'
import { contentText, isObject, isPositiveInteger, type JsonObject, parseJson } from './json-body.ts'
import { hashString } from './random.ts'
import { MESSAGE_OVERHEAD, REPLY_PRIMING, type TokenCounter } from './tokens.ts'
import type { ToolSpec } from './tool-call.ts'
import type { GenerationRequest } from './wire.ts'

/** Anthropic words validation errors as `<path>: <problem>`, pydantic-style. */
function invalid(path: string, problem: string): MockError {
  return mockError(400, `${path}: ${problem}`)
}

/** The client tools of `tools` (server tools such as web search have a versioned type and are skipped). */
function parseClientTools(tools: unknown): ToolSpec[] | MockError {
  if (!Array.isArray(tools)) return invalid('tools', 'Input should be a valid list')
  const client: ToolSpec[] = []
  for (let i = 0; i < tools.length; i++) {
    const tool = tools[i]
    if (!isObject(tool)) return invalid(`tools.${i}`, 'Input should be a valid dictionary')
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') continue
    if (typeof tool.name !== 'string') {
      return invalid(
        `tools.${i}.name`,
        tool.name === undefined ? 'Field required' : 'Input should be a valid string',
      )
    }
    if (!isObject(tool.input_schema)) {
      return invalid(
        `tools.${i}.input_schema`,
        tool.input_schema === undefined ? 'Field required' : 'Input should be a valid dictionary',
      )
    }
    client.push({ name: tool.name, schema: tool.input_schema })
  }
  return client
}

/** The tool `tool_choice` forces: {type: 'any'} (the first tool) or {type: 'tool', name}; null for auto and none. */
function parseForcedTool(json: JsonObject): ToolSpec | null | MockError {
  const tools = json.tools === undefined || json.tools === null ? [] : parseClientTools(json.tools)
  if (!Array.isArray(tools)) return tools
  const choice = json.tool_choice
  if (choice === undefined || choice === null) return null
  if (!isObject(choice)) return invalid('tool_choice', 'Input should be a valid dictionary')
  switch (choice.type) {
    case 'auto':
    case 'none':
      return null
    case 'any':
      return tools[0] ?? invalid('tool_choice', "tool_choice 'any' requires at least one tool in tools")
    case 'tool': {
      const name = choice.name
      if (typeof name !== 'string') {
        return invalid(
          'tool_choice.name',
          name === undefined ? 'Field required' : 'Input should be a valid string',
        )
      }
      return (
        tools.find((t) => t.name === name) ?? invalid('tool_choice.name', `Tool '${name}' not found in tools`)
      )
    }
    default:
      return invalid('tool_choice.type', "Input should be 'auto', 'any', 'tool' or 'none'")
  }
}

/** POST /v1/messages body -> request, or the error Anthropic would answer. */
export function parseMessages(body: string, tokens: TokenCounter): GenerationRequest | MockError {
  const parsed = parseJson(body)
  if (!parsed.ok)
    return mockError(400, 'There was an issue with your request body: the body is not valid JSON.')
  const json = parsed.value
  if (!isObject(json)) return invalid('body', 'Input should be a valid dictionary')
  if (json.model === undefined) return invalid('model', 'Field required')
  if (typeof json.model !== 'string') return invalid('model', 'Input should be a valid string')
  if (json.max_tokens === undefined) return invalid('max_tokens', 'Field required')
  if (typeof json.max_tokens !== 'number' || !Number.isInteger(json.max_tokens)) {
    return invalid('max_tokens', 'Input should be a valid integer')
  }
  if (!isPositiveInteger(json.max_tokens))
    return invalid('max_tokens', 'Input should be greater than or equal to 1')
  const messages = json.messages
  if (messages === undefined) return invalid('messages', 'Field required')
  if (!Array.isArray(messages)) return invalid('messages', 'Input should be a valid list')
  if (messages.length === 0) return invalid('messages', 'at least one message is required')
  let promptTokens = REPLY_PRIMING
  let contentHash = hashString(json.model)
  if (json.system !== undefined) {
    const system = contentText(json.system)
    if (system === null) return invalid('system', 'Input should be a valid string or list of text blocks')
    promptTokens += MESSAGE_OVERHEAD + tokens.count(system)
    contentHash = hashString(system, contentHash)
  }
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]
    if (!isObject(message)) return invalid(`messages.${i}`, 'Input should be a valid dictionary')
    if (message.role !== 'user' && message.role !== 'assistant') {
      return invalid(`messages.${i}.role`, "Input should be 'user' or 'assistant'")
    }
    const text = contentText(message.content)
    if (text === null)
      return invalid(`messages.${i}.content`, 'Input should be a valid string or list of content blocks')
    promptTokens += MESSAGE_OVERHEAD + tokens.count(text)
    contentHash = hashString(text, contentHash)
  }
  const stream = json.stream ?? false
  if (typeof stream !== 'boolean') return invalid('stream', 'Input should be a valid boolean')
  const forcedTool = parseForcedTool(json)
  if (isMockError(forcedTool)) return forcedTool
  return {
    kind: 'generation',
    route: 'messages',
    model: json.model,
    stream,
    includeUsage: true,
    maxTokens: json.max_tokens,
    promptTokens,
    contentHash,
    forcedTool,
  }
}
