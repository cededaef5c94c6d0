import { boolean, nonEmpty, num, object, requiredWhen, string } from './schema-parts.ts'

// The Anthropic Messages request as a JSON schema, compiled by fastify's ajv like the chat schema
// (routes/chat-schema.ts): every field the translation reads has the type it expects, so a bad
// request is a 400 naming its param, never an exception inside the translation. Lists come
// before strings in anyOf: the proxy reports the first error, and for a bad block that is the
// block's own, not "must be string".

const textBlock = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { const: 'text' }, text: string },
}

const imageSource = {
  type: 'object',
  required: ['type'],
  properties: { type: nonEmpty, media_type: string, data: string, url: string },
  allOf: [requiredWhen('base64', ['media_type', 'data']), requiredWhen('url', ['url'])],
}

const toolResultContent = {
  anyOf: [
    { type: 'array', items: { type: 'object', required: ['type'], properties: { type: nonEmpty } } },
    string,
  ],
}

const block = {
  type: 'object',
  required: ['type'],
  properties: {
    type: nonEmpty,
    text: string,
    source: imageSource,
    id: nonEmpty,
    name: nonEmpty,
    input: object,
    tool_use_id: nonEmpty,
    content: toolResultContent,
    is_error: boolean,
  },
  // The kinds the translation reads need their fields; others (thinking, documents) are dropped.
  allOf: [
    requiredWhen('text', ['text']),
    requiredWhen('image', ['source']),
    requiredWhen('tool_use', ['id', 'name', 'input']),
    requiredWhen('tool_result', ['tool_use_id']),
  ],
}

const message = {
  type: 'object',
  required: ['role', 'content'],
  properties: {
    role: { enum: ['user', 'assistant'] },
    content: { anyOf: [{ type: 'array', items: block }, string] },
  },
}

const tool = {
  type: 'object',
  required: ['name'],
  properties: { type: nonEmpty, name: nonEmpty, description: string, input_schema: object },
}

const toolChoice = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['auto', 'any', 'tool', 'none'] },
    name: nonEmpty,
    disable_parallel_tool_use: boolean,
  },
  ...requiredWhen('tool', ['name']),
}

export const MESSAGES_REQUEST_SCHEMA = {
  type: 'object',
  required: ['model', 'max_tokens', 'messages'],
  properties: {
    model: nonEmpty,
    max_tokens: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    messages: { type: 'array', minItems: 1, items: message },
    system: { anyOf: [{ type: 'array', items: textBlock }, string] },
    tools: { type: 'array', items: tool },
    tool_choice: toolChoice,
    stop_sequences: { type: 'array', items: string },
    stream: boolean,
    temperature: num(0, 1),
    top_p: num(0, 1),
    top_k: { type: 'integer', minimum: 0 },
    metadata: { type: 'object', properties: { user_id: { anyOf: [string, { type: 'null' }] } } },
    thinking: object,
  },
} as const
