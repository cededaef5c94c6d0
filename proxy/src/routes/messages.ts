import type { FastifyInstance } from 'fastify'
import { anthropicWire } from '../pipeline/client-wire.ts'
import type { Pipeline } from '../pipeline/pipeline.ts'
import type { ChatRequest, Json } from '../providers/types.ts'
import { MESSAGES_REQUEST_SCHEMA } from '../translate/messages-schema.ts'

const WIRE = anthropicWire('messages')

/**
 * POST /v1/messages: the Anthropic Messages API in (streaming and not, tool use), served by any
 * deployment: an Anthropic-wire provider gets it as it came, an OpenAI-wire one through chat
 * completions, translated both ways. Errors in Anthropic's shape. Plain answers are cached.
 */
export function registerMessagesRoute(app: FastifyInstance, pipeline: Pipeline): void {
  app.post(
    '/v1/messages',
    {
      config: { route: 'messages', wire: WIRE, cacheStatus: true },
      schema: { body: MESSAGES_REQUEST_SCHEMA },
    },
    (request, reply) => {
      const body = request.body as Record<string, Json>
      const req: ChatRequest = {
        dialect: 'messages',
        body,
        raw: request.rawBody ?? Buffer.alloc(0),
        stream: body.stream === true,
        includeUsage: false,
      }
      return pipeline.answer(request, reply, req, WIRE)
    },
  )
}
