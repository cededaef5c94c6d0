import type { FastifyInstance } from 'fastify'
import { openAIWire } from '../pipeline/client-wire.ts'
import type { Pipeline } from '../pipeline/pipeline.ts'
import type { ChatRequest } from '../providers/types.ts'
import { EMBEDDINGS_REQUEST_SCHEMA } from '../translate/embeddings-schema.ts'

const WIRE = openAIWire('embeddings')

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
