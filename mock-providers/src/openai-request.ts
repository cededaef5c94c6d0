import { isMockError, type MockError, mockError } from './errors.ts'
import {
  contentText,
  describeType,
  isObject,
  isPositiveInteger,
  type JsonObject,
  parseJson,
} from './json-body.ts'
import { hashString } from './random.ts'
import { MESSAGE_OVERHEAD, REPLY_PRIMING, type TokenCounter } from './tokens.ts'
import type { ToolSpec } from './tool-call.ts'
import type { EmbeddingsRequest, GenerationRequest } from './wire.ts'

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function'])

function invalidType(param: string, expected: string, value: unknown): MockError {
  return mockError(
    400,
    `Invalid type for '${param}': expected ${expected}, but got ${describeType(value)} instead.`,
    param,
    'invalid_type',
  )
}

function missing(param: string): MockError {
  return mockError(400, `Missing required parameter: '${param}'.`, param, 'missing_required_parameter')
}

const INVALID_JSON = mockError(
  400,
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
)

function parseObject(body: string): JsonObject | MockError {
  const parsed = parseJson(body)
  if (!parsed.ok) return INVALID_JSON
  if (!isObject(parsed.value)) return invalidType('body', 'an object', parsed.value)
  return parsed.value
}

function parseModel(json: JsonObject): string | MockError {
  if (json.model === undefined) return mockError(400, 'you must provide a model parameter', 'model')
  if (typeof json.model !== 'string') return invalidType('model', 'a string', json.model)
  return json.model
}

function parseMaxTokens(json: JsonObject): number | null | MockError {
  for (const param of ['max_completion_tokens', 'max_tokens']) {
    const value = json[param]
    if (value === undefined || value === null) continue
    if (typeof value !== 'number' || !Number.isInteger(value)) return invalidType(param, 'an integer', value)
    if (!isPositiveInteger(value)) {
      return mockError(
        400,
        `Invalid '${param}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`,
        param,
        'integer_below_min_value',
      )
    }
    return value
  }
  return null
}

function toolChoiceError(message: string): MockError {
  return mockError(400, `Invalid value for 'tool_choice': ${message}`, 'tool_choice')
}

/** The function tools of `tools`, checked as far as the mock reads them (other tool types are ignored). */
function parseFunctions(tools: unknown): ToolSpec[] | MockError {
  if (!Array.isArray(tools)) return invalidType('tools', 'an array', tools)
  const functions: ToolSpec[] = []
  for (let i = 0; i < tools.length; i++) {
    const tool = tools[i]
    if (!isObject(tool)) return invalidType(`tools[${i}]`, 'an object', tool)
    if (tool.type !== 'function') continue
    const fn = tool.function
    if (fn === undefined) return missing(`tools[${i}].function`)
    if (!isObject(fn)) return invalidType(`tools[${i}].function`, 'an object', fn)
    if (fn.name === undefined) return missing(`tools[${i}].function.name`)
    if (typeof fn.name !== 'string') return invalidType(`tools[${i}].function.name`, 'a string', fn.name)
    functions.push({ name: fn.name, schema: fn.parameters })
  }
  return functions
}

/**
 * The tool `tool_choice` forces: 'required' (the first function) or {type: 'function', function:
 * {name}}. null for 'auto', 'none', no tool_choice, and the choices the mock does not force
 * (allowed_tools, custom): the answer is text then.
 */
function parseForcedTool(json: JsonObject): ToolSpec | null | MockError {
  const choice = json.tool_choice ?? null
  if (json.tools === undefined || json.tools === null) {
    return choice === null
      ? null
      : toolChoiceError("'tool_choice' is only allowed when 'tools' are specified.")
  }
  const functions = parseFunctions(json.tools)
  if (!Array.isArray(functions)) return functions
  if (choice === null || choice === 'auto' || choice === 'none') return null
  if (choice === 'required') {
    return functions[0] ?? toolChoiceError("'required' needs at least one function in 'tools'.")
  }
  if (typeof choice === 'string') {
    return mockError(
      400,
      `Invalid value: '${choice}'. Supported values are: 'none', 'auto', and 'required'.`,
      'tool_choice',
      'invalid_value',
    )
  }
  if (!isObject(choice)) return invalidType('tool_choice', 'a string or an object', choice)
  if (choice.type !== 'function') return null
  const fn = choice.function
  if (fn === undefined) return missing('tool_choice.function')
  if (!isObject(fn)) return invalidType('tool_choice.function', 'an object', fn)
  if (typeof fn.name !== 'string') {
    return fn.name === undefined
      ? missing('tool_choice.function.name')
      : invalidType('tool_choice.function.name', 'a string', fn.name)
  }
  const name = fn.name
  return (
    functions.find((f) => f.name === name) ??
    toolChoiceError(`function '${name}' is not one of the functions in 'tools'.`)
  )
}

/** POST /v1/chat/completions body -> request, or the error OpenAI would answer. */
export function parseChat(body: string, tokens: TokenCounter): GenerationRequest | MockError {
  const json = parseObject(body)
  if (isMockError(json)) return json
  const model = parseModel(json)
  if (typeof model !== 'string') return model
  const messages = json.messages
  if (messages === undefined) return missing('messages')
  if (!Array.isArray(messages)) return invalidType('messages', 'an array', messages)
  if (messages.length === 0) {
    return mockError(
      400,
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    )
  }
  let promptTokens = REPLY_PRIMING
  let contentHash = hashString(model)
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]
    if (!isObject(message)) return invalidType(`messages[${i}]`, 'an object', message)
    if (typeof message.role !== 'string' || !ROLES.has(message.role)) {
      if (message.role === undefined) return missing(`messages[${i}].role`)
      return mockError(
        400,
        `Invalid value: '${String(message.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `messages[${i}].role`,
        'invalid_value',
      )
    }
    const text = message.content === null && message.role === 'assistant' ? '' : contentText(message.content)
    if (text === null) {
      return invalidType(`messages[${i}].content`, 'one of a string or array of objects', message.content)
    }
    promptTokens += MESSAGE_OVERHEAD + tokens.count(text)
    contentHash = hashString(text, contentHash)
  }
  const stream = json.stream ?? false
  if (typeof stream !== 'boolean') return invalidType('stream', 'a boolean', stream)
  const options = json.stream_options
  let includeUsage = false
  if (options !== undefined && options !== null) {
    if (!isObject(options)) return invalidType('stream_options', 'an object', options)
    if (!stream) {
      return mockError(
        400,
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        'stream_options',
        'invalid_value',
      )
    }
    includeUsage = options.include_usage === true
  }
  const maxTokens = parseMaxTokens(json)
  if (maxTokens !== null && typeof maxTokens !== 'number') return maxTokens
  const forcedTool = parseForcedTool(json)
  if (isMockError(forcedTool)) return forcedTool
  return {
    kind: 'generation',
    route: 'chat',
    model,
    stream,
    includeUsage,
    maxTokens,
    promptTokens,
    contentHash,
    forcedTool,
  }
}

function invalidInput(): MockError {
  return mockError(
    400,
    "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
    'input',
  )
}

function isTokenArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((t) => Number.isInteger(t) && t >= 0)
}

/** POST /v1/embeddings body -> request: input is a string, strings, a token array or token arrays. */
export function parseEmbeddings(body: string, tokens: TokenCounter): EmbeddingsRequest | MockError {
  const json = parseObject(body)
  if (isMockError(json)) return json
  const model = parseModel(json)
  if (typeof model !== 'string') return model
  const input = json.input
  if (input === undefined) return missing('input')
  let list: unknown[]
  if (typeof input === 'string' || isTokenArray(input)) list = [input]
  else if (Array.isArray(input) && input.length > 0 && input.length <= 2048) list = input
  else return invalidInput()
  const inputs: string[] = []
  let promptTokens = 0
  let contentHash = hashString(model)
  for (const item of list) {
    if (typeof item === 'string' && item.length > 0) {
      promptTokens += tokens.count(item)
      inputs.push(item)
    } else if (isTokenArray(item)) {
      promptTokens += item.length
      inputs.push(item.join(' '))
    } else {
      return invalidInput()
    }
    contentHash = hashString(inputs[inputs.length - 1], contentHash)
  }
  const dimensions = json.dimensions ?? null
  if (dimensions !== null && !isPositiveInteger(dimensions))
    return invalidType('dimensions', 'an integer >= 1', dimensions)
  const format = json.encoding_format ?? 'float'
  if (format !== 'float' && format !== 'base64') {
    return mockError(
      400,
      `Invalid value: '${String(format)}'. Supported values are: 'float' and 'base64'.`,
      'encoding_format',
      'invalid_value',
    )
  }
  return {
    kind: 'embeddings',
    route: 'embeddings',
    model,
    inputs,
    promptTokens,
    dimensions,
    base64: format === 'base64',
    contentHash,
  }
}
