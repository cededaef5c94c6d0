import type { FastifyInstance } from 'fastify'
import type { ChatCache } from '../cache/chat-cache.ts'
import type { InvalidationScope } from '../cache/redis-tier.ts'
import type { CacheSystem } from '../cache/system.ts'
import type { CacheWarmer } from '../cache/warmer.ts'
import { ProxyError } from '../errors.ts'
import { admin } from '../http/access.ts'

export interface CacheAdminDeps {
  readonly caches: CacheSystem
  readonly chatCache: ChatCache | undefined
  readonly warmer: CacheWarmer | undefined
}

/** At most this many requests in one POST /api/cache/warm. */
export const WARM_MAX_REQUESTS = 100

function scopeOf(query: Record<string, string | undefined>): InvalidationScope {
  const { provider, pattern } = query
  if (provider !== undefined && pattern !== undefined) {
    throw new ProxyError('invalid_request', { message: 'Give ?provider= or ?pattern=, not both.' })
  }
  if (provider !== undefined) {
    if (provider === '')
      throw new ProxyError('invalid_request', { param: 'provider', message: 'Empty ?provider=.' })
    return { kind: 'provider', provider }
  }
  if (pattern !== undefined) {
    if (pattern === '')
      throw new ProxyError('invalid_request', { param: 'pattern', message: 'Empty ?pattern=.' })
    return { kind: 'pattern', pattern }
  }
  return { kind: 'all' }
}

/**
 * The cache's admin routes (admin key):
 *   GET    /api/cache/stats   per cache: hits, misses, hit rate, entries, bytes, removals by
 *                             reason, compression ratio; Redis status; warming; coalescing
 *   DELETE /api/cache         everything (response, summary and model caches), or
 *                             ?provider=<name>: response entries that provider answered (and its model list)
 *                             ?pattern=<glob>: response entries whose model or key matches
 *                             Redis and every other instance drop the same entries.
 *   POST   /api/cache/warm    {requests: [chat bodies]}: fetch and store those not freshly
 *                             cached; no body: one warming run over the popular keys now
 */
export function registerCacheAdminRoutes(app: FastifyInstance, deps: CacheAdminDeps): void {
  const { caches, chatCache, warmer } = deps

  app.get('/api/cache/stats', admin('cache_admin'), async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return {
      ...caches.snapshot(),
      coalescing: chatCache
        ? {
            in_flight: chatCache.completions.size + chatCache.streams.size,
            coalesced: chatCache.completions.coalesced + chatCache.streams.coalesced,
          }
        : null,
    }
  })

  app.delete('/api/cache', admin('cache_admin'), async (request) => {
    const report = await caches.invalidate(scopeOf(request.query as Record<string, string | undefined>))
    return {
      scope: report.scope,
      deleted: {
        response: report.response.local,
        response_shared: report.response.shared,
        summary: report.summary,
        model: report.model,
      },
      ...(report.response.error ? { warnings: [report.response.error] } : {}),
    }
  })

  app.post('/api/cache/warm', admin('cache_admin'), async (request) => {
    if (!warmer) throw new ProxyError('cache_disabled')
    const body = request.body as { requests?: unknown } | null | undefined
    const requests = body?.requests
    if (requests === undefined) return { run: await warmer.run(), warming: warmer.stats() }
    if (!Array.isArray(requests) || requests.length > WARM_MAX_REQUESTS) {
      throw new ProxyError('invalid_request', {
        param: 'requests',
        message: `'requests' must be an array of at most ${WARM_MAX_REQUESTS} chat completion bodies.`,
      })
    }
    const results = await warmer.warm(requests)
    const count = (status: string) => results.filter((r) => r.status === status).length
    return {
      warmed: count('warmed'),
      cached: count('cached'),
      failed: count('failed') + count('invalid'),
      results,
    }
  })
}
