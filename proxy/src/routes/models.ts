import type { FastifyInstance } from 'fastify'
import type { ProviderRegistry } from '../providers/registry.ts'

/** GET /v1/models: the model names this proxy routes, aliases included, in the OpenAI list shape. */
export function registerModelsRoute(app: FastifyInstance, registry: ProviderRegistry, created: number): void {
  app.get('/v1/models', async (request, reply) => {
    const data = []
    for (const [id, route] of registry.routes()) {
      data.push({
        id,
        object: 'model',
        created,
        owned_by: route.deployments[0]?.provider.name ?? 'llm-proxy',
      })
    }
    reply.header('x-request-id', request.id)
    return { object: 'list', data }
  })
}
