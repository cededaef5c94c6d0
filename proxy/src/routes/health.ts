import type { FastifyInstance } from 'fastify'
import type { ProviderRegistry } from '../providers/registry.ts'

/** GET /health: up when at least one provider can take a call. */
export function registerHealthRoutes(app: FastifyInstance, registry: ProviderRegistry): void {
  app.get('/health', async (_request, reply) => {
    const providers: Record<string, unknown> = {}
    let available = 0
    for (const p of registry.providers.values()) {
      const breaker = p.breaker.snapshot()
      if (p.breaker.canAttempt()) available++
      providers[p.name] = { status: breaker.state === 'closed' ? 'ok' : 'degraded', breaker: breaker.state }
    }
    const ok = available > 0 || registry.providers.size === 0
    reply.code(ok ? 200 : 503)
    return {
      status: ok ? 'ok' : 'unavailable',
      checks: { providers: { status: ok ? 'ok' : 'unavailable', providers } },
    }
  })
}
