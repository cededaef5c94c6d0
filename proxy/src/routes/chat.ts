import type { FastifyInstance } from 'fastify'
import { openAIWire } from '../pipeline/client-wire.ts'
import type { Pipeline } from '../pipeline/pipeline.ts'
import { parseChatRequest, releaseBody } from '../providers/chat-request.ts'
import { CHAT_REQUEST_SCHEMA } from './chat-schema.ts'

const EMPTY = Buffer.alloc(0)
const WIRE = openAIWire('chat')

/**
 * POST /v1/chat/completions: OpenAI wire in and out, whatever the provider speaks, behind the
 * response cache (see cache/policy.ts for HIT, MISS and BYPASS). The body is validated against
 * the chat schema before anything else; the pipeline does the rest.
 */
export function registerChatRoute(app: FastifyInstance, pipeline: Pipeline): void {
  app.post(
    '/v1/chat/completions',
    // Every chat answer says how the cache treated it (the pipeline sets HIT or MISS).
    { config: { route: 'chat', wire: WIRE, cacheStatus: true }, schema: { body: CHAT_REQUEST_SCHEMA } },
    (request, reply) => {
      const req = parseChatRequest(request.body, request.rawBody ?? EMPTY)
      const answer = pipeline.answer(request, reply, req, WIRE)
      // By now the request is on its way to the provider (or answered from the cache): neither
      // fastify's request nor the proxy's keeps its parsed body alive while the provider answers.
      request.body = null
      releaseBody(req)
      return answer
    },
  )
}
