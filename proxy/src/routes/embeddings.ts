import type { FastifyInstance } from 'fastify'
import { openAIWire } from '../pipeline/client-wire.ts'
import type { Pipeline } from '../pipeline/pipeline.ts'
import type { ChatRequest } from '../providers/types.ts'

const WIRE = openAIWire('embeddings')

const tokens = { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } as const

/** The OpenAI embeddings request: what the proxy reads, checked before routing. */
export const EMBEDDINGS_REQUEST_SCHEMA = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: {
      anyOf: [
        { type: 'string' },
        { type: 'array', minItems: 1, maxItems: 2048, items: { type: 'string' } },
        tokens,
        { type: 'array', minItems: 1, maxItems: 2048, items: tokens },
      ],
    },
    encoding_format: { enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const

/**
 * POST /v1/embeddings: the OpenAI embeddings API, routed like chat (deployments, failover,
 * retries, breakers; only providers that serve embeddings) and cached: the same input to the
 * same model gives the same vectors, the most cacheable answer there is.
 */
export function registerEmbeddingsRoute(app: FastifyInstance, pipeline: Pipeline): void {
  app.post(
    '/v1/embeddings',
    {
      config: { route: 'embeddings', wire: WIRE, cacheStatus: true },
      schema: { body: EMBEDDINGS_REQUEST_SCHEMA },
    },
    (request, reply) => {
      const req: ChatRequest = {
        dialect: 'embeddings',
        body: request.body as Record<string, unknown>,
        raw: request.rawBody ?? Buffer.alloc(0),
        stream: false,
        includeUsage: false,
      }
      return pipeline.answer(request, reply, req, WIRE)
    },
  )
}
