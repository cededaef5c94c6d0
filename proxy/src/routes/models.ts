import type { FastifyInstance } from 'fastify'
import { ProxyError } from '../errors.ts'
import type { ModelCatalog, ModelEntry } from '../providers/discovery.ts'

interface ModelsQuery {
  provider?: string
  endpoint?: string
  owned_by?: string
  q?: string
}

function filtered(data: ModelEntry[], query: ModelsQuery): ModelEntry[] {
  const q = query.q?.toLowerCase()
  return data.filter(
    (m) =>
      (!query.provider || m.providers.includes(query.provider)) &&
      (!query.endpoint || m.endpoints.includes(query.endpoint)) &&
      (!query.owned_by || m.owned_by === query.owned_by) &&
      (!q || m.id.toLowerCase().includes(q)),
  )
}

/**
 * GET /v1/models: exactly the models this proxy routes (aliases carry `alias_of`), each with
 * its `kind`, the `endpoints` that answer it and the `providers` behind it, described from the
 * providers' own lists (model cache). Filters: ?provider=, ?owned_by=, ?q= (case-insensitive
 * substring of the id), ?endpoint= (e.g. /v1/embeddings). A provider whose list cannot be read is
 * named in `warnings` (header x-models-partial: true); the answer is still 200. x-cache: HIT when
 * every list came from the model cache. GET /v1/models/:id answers one entry.
 */
export function registerModelsRoute(app: FastifyInstance, catalog: ModelCatalog): void {
  app.get('/v1/models', { config: { route: 'models' } }, async (request, reply) => {
    const catalogue = await catalog.list()
    reply.header('x-cache', catalogue.cached ? 'HIT' : 'MISS')
    if (catalogue.warnings.length > 0) reply.header('x-models-partial', 'true')
    return {
      object: 'list',
      data: filtered(catalogue.data, request.query as ModelsQuery),
      ...(catalogue.warnings.length > 0 ? { warnings: catalogue.warnings } : {}),
    }
  })

  app.get('/v1/models/:id', { config: { route: 'models' } }, async (request, reply) => {
    const { id } = request.params as { id: string }
    const catalogue = await catalog.list()
    reply.header('x-cache', catalogue.cached ? 'HIT' : 'MISS')
    const model = catalogue.data.find((m) => m.id === id)
    if (!model) {
      throw new ProxyError('model_not_found', {
        param: 'model',
        message: `The model '${id}' does not exist.`,
      })
    }
    return model
  })
}
