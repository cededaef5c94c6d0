import { boolean, nonEmpty, nullable, num, object, requiredWhen, string } from './schema-parts.ts'

// The OpenAI Responses request as a JSON schema, compiled by fastify's ajv like the chat schema
// (routes/chat-schema.ts). It checks the shapes the translation reads; what the proxy cannot
// serve (previous_response_id, hosted tools, ...) passes the schema and is refused by the
// translation with a message saying why, which a schema error could not. Lists come before
// strings in anyOf: the proxy reports the first error, and for a bad item that is the item's own.

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: nonEmpty, text: string, image_url: nullable(string), file_id: nullable(string) },
  ...requiredWhen(['input_text', 'output_text'], ['text']),
}

const content = { anyOf: [{ type: 'array', items: contentPart }, string] }

const item = {
  type: 'object',
  properties: {
    type: nonEmpty,
    role: { enum: ['user', 'assistant', 'system', 'developer'] },
    content,
    call_id: nonEmpty,
    name: nonEmpty,
    arguments: string,
    output: content,
  },
  allOf: [
    // An item names its kind by `type`, or is a message by its `role` alone.
    { anyOf: [{ required: ['role', 'content'] }, { required: ['type'] }] },
    requiredWhen('message', ['role', 'content']),
    requiredWhen('function_call', ['call_id', 'name', 'arguments']),
    requiredWhen('function_call_output', ['call_id', 'output']),
  ],
}

const tool = {
  type: 'object',
  required: ['type'],
  properties: {
    type: nonEmpty,
    name: nonEmpty,
    description: nullable(string),
    parameters: nullable(object),
    strict: nullable(boolean),
  },
  ...requiredWhen('function', ['name']),
}

const toolChoice = {
  anyOf: [
    { enum: ['none', 'auto', 'required'] },
    {
      type: 'object',
      required: ['type'],
      properties: { type: nonEmpty, name: nonEmpty },
      ...requiredWhen('function', ['name']),
    },
  ],
}

const textFormat = {
  type: 'object',
  required: ['type'],
  properties: {
    type: nonEmpty,
    name: nonEmpty,
    schema: object,
    description: string,
    strict: nullable(boolean),
  },
  ...requiredWhen('json_schema', ['name', 'schema']),
}

export const RESPONSES_REQUEST_SCHEMA = {
  type: 'object',
  required: ['model'],
  properties: {
    model: nonEmpty,
    input: { anyOf: [{ type: 'array', items: item }, string] },
    instructions: nullable(string),
    tools: { type: 'array', items: tool },
    tool_choice: toolChoice,
    max_output_tokens: nullable({ type: 'integer', minimum: 1 }),
    temperature: nullable(num(0, 2)),
    top_p: nullable(num(0, 1)),
    stream: nullable(boolean),
    previous_response_id: nullable(string),
    store: nullable(boolean),
    background: nullable(boolean),
    parallel_tool_calls: nullable(boolean),
    metadata: nullable(object),
    user: string,
    text: { type: 'object', properties: { format: textFormat } },
    reasoning: nullable(object),
  },
} as const
