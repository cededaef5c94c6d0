// The OpenAI chat completion request as a JSON schema, compiled by fastify's ajv and checked before
// routing: every field the proxy or a translation reads has the type the code expects, so a
// client's bad input is a 400 naming its `param`, never an exception inside a translation (which
// would be blamed on a provider). Fields nobody reads pass through to the provider untouched.
import { Ajv, type ValidateFunction } from 'ajv'

/**
 * How request bodies are validated (fastify's ajv takes these in app.ts): as sent, since coerced or
 * defaulted values would differ from the bytes forwarded.
 */
export const VALIDATION_OPTIONS = {
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
} as const

const string = { type: 'string' } as const
const nonEmpty = { type: 'string', minLength: 1 } as const
const object = { type: 'object' } as const
const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const
const num = (minimum: number, maximum: number) => ({ type: 'number', minimum, maximum }) as const

const imageUrl = {
  anyOf: [string, { type: 'object', required: ['url'], properties: { url: string, detail: string } }],
}

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: {
    type: nonEmpty,
    text: string,
    image_url: imageUrl,
    input_audio: object,
    file: object,
    refusal: string,
  },
  // A text part needs its text, an image part its image_url; other kinds pass to the provider.
  anyOf: [
    { properties: { type: { const: 'text' } }, required: ['text'] },
    { properties: { type: { const: 'image_url' } }, required: ['image_url'] },
    { properties: { type: { not: { enum: ['text', 'image_url'] } } } },
  ],
}

const toolCall = {
  type: 'object',
  required: ['function'],
  properties: {
    id: string,
    type: string,
    function: {
      type: 'object',
      required: ['name'],
      properties: { name: nonEmpty, arguments: string },
    },
  },
}

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
    content: { anyOf: [string, { type: 'array', items: contentPart }, { type: 'null' }] },
    name: string,
    tool_calls: { anyOf: [{ type: 'array', items: toolCall }, { type: 'null' }] },
    tool_call_id: string,
    function_call: { anyOf: [object, { type: 'null' }] },
    refusal: { anyOf: [string, { type: 'null' }] },
  },
}

const tool = {
  type: 'object',
  required: ['type'],
  properties: {
    type: nonEmpty,
    function: {
      type: 'object',
      required: ['name'],
      properties: { name: nonEmpty, description: string, parameters: object, strict: { type: 'boolean' } },
    },
  },
  // A function tool needs its function; other kinds (built-in tools) pass to the provider.
  anyOf: [
    { properties: { type: { const: 'function' } }, required: ['function'] },
    { properties: { type: { not: { const: 'function' } } } },
  ],
}

const toolChoice = {
  anyOf: [
    { enum: ['none', 'auto', 'required'] },
    {
      type: 'object',
      required: ['type'],
      properties: {
        type: nonEmpty,
        function: { type: 'object', required: ['name'], properties: { name: nonEmpty } },
      },
    },
  ],
}

export const CHAT_REQUEST_SCHEMA = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: nonEmpty,
    messages: { type: 'array', minItems: 1, items: message },
    stream: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    stream_options: {
      anyOf: [{ type: 'object', properties: { include_usage: { type: 'boolean' } } }, { type: 'null' }],
    },
    max_tokens: { anyOf: [int(1, 10_000_000), { type: 'null' }] },
    max_completion_tokens: { anyOf: [int(1, 10_000_000), { type: 'null' }] },
    temperature: { anyOf: [num(0, 2), { type: 'null' }] },
    top_p: { anyOf: [num(0, 1), { type: 'null' }] },
    n: { anyOf: [int(1, 128), { type: 'null' }] },
    presence_penalty: { anyOf: [num(-2, 2), { type: 'null' }] },
    frequency_penalty: { anyOf: [num(-2, 2), { type: 'null' }] },
    seed: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
    stop: { anyOf: [string, { type: 'array', items: string, maxItems: 16 }, { type: 'null' }] },
    user: string,
    tools: { type: 'array', items: tool },
    tool_choice: toolChoice,
    parallel_tool_calls: { type: 'boolean' },
    response_format: object,
    logit_bias: { anyOf: [object, { type: 'null' }] },
    logprobs: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    top_logprobs: { anyOf: [int(0, 20), { type: 'null' }] },
    metadata: { anyOf: [object, { type: 'null' }] },
  },
} as const

/** `/messages/0/tool_calls` (+ a missing property) -> `messages[0].tool_calls`, OpenAI's `param`. */
export function paramOf(instancePath: string, missing?: string): string | null {
  const parts = instancePath.split('/').filter(Boolean)
  if (missing) parts.push(missing)
  if (parts.length === 0) return null
  let out = ''
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`
  return out
}

/**
 * The chat schema compiled as the chat route's is, for chat bodies that arrive another way (POST
 * /api/cache/warm): one schema judges them alike, and what the route refuses is never sent to a
 * provider, translated or cached from there. Errors come in fastify's shape (`validation`).
 */
export function compileChatSchema(): ValidateFunction {
  return new Ajv({ ...VALIDATION_OPTIONS, strict: false }).compile(CHAT_REQUEST_SCHEMA)
}
