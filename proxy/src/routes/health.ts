import type { FastifyInstance, FastifyReply } from 'fastify'
import { PUBLIC } from '../http/access.ts'
import { type HealthSources, healthChecks, providerDetails, worst } from '../observability/health-checks.ts'
import type { Telemetry } from '../observability/telemetry.ts'

// GET /health, /health/detailed, /health/providers. Unauthenticated (load balancers probe them),
// so they carry no secret: no keys, no URLs with credentials, provider messages masked.
// 503 when the proxy cannot serve: no provider can take a call, memory past max_usage_percent,
// or shutting down.

function sourcesOf(t: Telemetry): HealthSources {
  return {
    registry: t.sources.registry,
    stats: t.stats,
    memory: t.memory,
    cache: t.sources.cache,
    shuttingDown: () => t.shuttingDown,
    admission: t.sources.admission,
    now: t.now,
  }
}

function answer(reply: FastifyReply, status: string) {
  reply.code(status === 'unavailable' ? 503 : 200).header('cache-control', 'no-store')
}

export function registerHealthRoutes(app: FastifyInstance, telemetry: Telemetry): void {
  app.get('/health', PUBLIC, async (_request, reply) => {
    const health = healthChecks(sourcesOf(telemetry))
    answer(reply, health.status)
    return health
  })

  app.get('/health/detailed', PUBLIC, async (_request, reply) => {
    const s = sourcesOf(telemetry)
    const health = healthChecks(s)
    const c = telemetry.config
    answer(reply, health.status)
    return {
      ...health,
      version: telemetry.version,
      uptime_seconds: Math.round((telemetry.now() - telemetry.startedAt) / 1000),
      started_at: new Date(telemetry.startedAt).toISOString(),
      environment: c.app.environment,
      node_version: process.version,
      process: telemetry.jsonSources().process,
      config: {
        digest: telemetry.configDigest(),
        providers: c.providers.map((p) => ({ name: p.name, wire: p.wire })),
        models: Object.keys(c.models),
        workers: c.server.workers,
        monitoring_enabled: telemetry.enabled,
        alerting_enabled: c.alerting.enabled,
      },
      providers: providerDetails(s),
      memory_manager: {
        limit: telemetry.memory.limit,
        emergency_cleanups: telemetry.memory.emergencyCleanups,
        gentle_cleanups: telemetry.memory.gentleCleanups,
        last_cleanup: telemetry.memory.lastCleanup ?? null,
        leak: telemetry.memory.leak.verdict(telemetry.now()),
        targets: telemetry.memory.targets(),
      },
      alerts: telemetry.alerts?.states() ?? null,
    }
  })

  app.get('/health/providers', PUBLIC, async (_request, reply) => {
    const s = sourcesOf(telemetry)
    const providers = providerDetails(s)
    const statuses = Object.values(providers).map(
      (p) => (p as { status: 'ok' | 'degraded' | 'unavailable' }).status,
    )
    const anyAvailable = statuses.some((x) => x !== 'unavailable')
    const status =
      statuses.length === 0
        ? 'degraded'
        : anyAvailable
          ? worst(statuses.map((x) => (x === 'unavailable' ? 'degraded' : x)))
          : 'unavailable'
    answer(reply, status)
    return {
      status,
      window_seconds: (telemetry.stats?.windowMs ?? 60_000) / 1000,
      providers,
    }
  })
}
