import type { FastifyInstance } from 'fastify'
import { ProxyError } from '../errors.ts'
import { responsesWire } from '../pipeline/client-wire.ts'
import type { Pipeline } from '../pipeline/pipeline.ts'
import { chatRequestOf } from '../providers/dialects.ts'
import type { ChatRequest, Json } from '../providers/types.ts'
import { ClientInputError } from '../translate/errors.ts'
import { responsesToChatRequest } from '../translate/responses-request.ts'
import { RESPONSES_REQUEST_SCHEMA } from '../translate/responses-schema.ts'

const WIRE = responsesWire('responses')

/**
 * POST /v1/responses: the OpenAI Responses API, its stateless subset (input text or items,
 * instructions, function tools, streaming with the typed response.* events), answered through
 * chat completions by any deployment. Features that need a store (previous_response_id, a
 * conversation, background runs) and hosted tools are refused with a 400 naming the field.
 */
export function registerResponsesRoute(app: FastifyInstance, pipeline: Pipeline): void {
  app.post(
    '/v1/responses',
    {
      config: { route: 'responses', wire: WIRE, cacheStatus: true },
      schema: { body: RESPONSES_REQUEST_SCHEMA },
    },
    (request, reply) => {
      const body = request.body as Record<string, Json>
      const stream = body.stream === true
      let chat: Record<string, Json>
      try {
        chat = responsesToChatRequest(body)
      } catch (err) {
        if (err instanceof ClientInputError)
          throw new ProxyError('invalid_request', { param: err.param, message: err.message })
        throw err
      }
      const req: ChatRequest = {
        dialect: 'responses',
        body,
        raw: request.rawBody ?? Buffer.alloc(0),
        stream,
        includeUsage: false,
        asChat: chatRequestOf(chat, stream),
      }
      return pipeline.answer(request, reply, req, WIRE)
    },
  )
}
