// The OpenAI embeddings request as a JSON schema, compiled by fastify's ajv like the chat schema
// (routes/chat-schema.ts). The provider would refuse an empty input too, but only after the proxy
// spent a routing decision, a cache lookup and a provider call on it.

const tokens = { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } as const

export const EMBEDDINGS_REQUEST_SCHEMA = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: {
      anyOf: [
        { type: 'string', minLength: 1 },
        { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        tokens,
        { type: 'array', minItems: 1, items: tokens },
      ],
    },
    encoding_format: { enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const
