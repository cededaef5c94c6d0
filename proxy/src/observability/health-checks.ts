import type { ProviderRegistry, ProviderRuntime } from '../providers/registry.ts'
import type { MemoryManager } from './memory-manager.ts'
import type { RequestStats } from './request-stats.ts'
import type { CacheMetricsSource, HealthCheck } from './sources.ts'
import type { WindowFigures } from './window.ts'

// The checks behind /health, /health/detailed and /health/providers. `unavailable` anywhere (no
// provider can take a call, memory past max_usage_percent, shutting down) makes the answer 503,
// so a load balancer stops sending traffic; `degraded` still answers 200.

export type Status = HealthCheck['status']

export interface HealthSources {
  readonly registry: ProviderRegistry
  readonly stats: RequestStats | undefined
  readonly memory: MemoryManager
  readonly cache: () => CacheMetricsSource | undefined
  readonly shuttingDown: () => boolean
  readonly admission: { health(): HealthCheck } | undefined
  readonly now: () => number
}

const RANK: Record<Status, number> = { ok: 0, degraded: 1, unavailable: 2 }

export function worst(statuses: Iterable<Status>): Status {
  let out: Status = 'ok'
  for (const s of statuses) if (RANK[s] > RANK[out]) out = s
  return out
}

export function memoryCheck(memory: MemoryManager): HealthCheck {
  const s = memory.status()
  const status: Status = s.level === 'critical' ? 'unavailable' : s.level === 'high' ? 'degraded' : 'ok'
  return { status, ...s }
}

/**
 * What a provider can do now: `unavailable` behind an open breaker; `degraded` while half-open,
 * answering most calls 429, refusing calls for want of connections (shedding), or failing at
 * least half of its recent calls (a cut stream counts); `ok` otherwise.
 */
export function providerStatus(p: ProviderRuntime, recent: WindowFigures | undefined): Status {
  if (!p.breaker.canAttempt()) return 'unavailable'
  if (p.breaker.state !== 'closed' || p.limiter.throttling || p.limiter.shedding) return 'degraded'
  if (recent && recent.requests >= MIN_RECENT_CALLS && recent.error_rate >= 0.5) return 'degraded'
  return 'ok'
}

const MIN_RECENT_CALLS = 10

export function providersCheck(registry: ProviderRegistry, stats: RequestStats | undefined): HealthCheck {
  const providers: Record<string, { status: Status; breaker: string; throttling: boolean }> = {}
  let available = 0
  for (const p of registry.providers.values()) {
    const status = providerStatus(p, stats?.providerWindow(p.name))
    if (status !== 'unavailable') available++
    providers[p.name] = { status, breaker: p.breaker.state, throttling: p.limiter.throttling }
  }
  const total = registry.providers.size
  let status: Status = 'ok'
  if (total === 0) status = 'degraded'
  else if (available === 0) status = 'unavailable'
  else if (Object.values(providers).some((p) => p.status !== 'ok')) status = 'degraded'
  return { status, available, total, providers }
}

export function cacheCheck(source: CacheMetricsSource | undefined): HealthCheck {
  if (!source) return { status: 'ok', enabled: false }
  try {
    return { enabled: true, ...source.health() }
  } catch (err) {
    return { status: 'degraded', enabled: true, error: (err as Error).message }
  }
}

export function healthChecks(s: HealthSources) {
  const checks = {
    memory: memoryCheck(s.memory),
    providers: providersCheck(s.registry, s.stats),
    cache: cacheCheck(s.cache()),
    admission: s.admission?.health() ?? { status: 'ok' as const },
  }
  const shuttingDown = s.shuttingDown()
  const status = shuttingDown ? 'unavailable' : worst(Object.values(checks).map((c) => c.status))
  return { status, shutting_down: shuttingDown, checks }
}

/** Per provider: breaker, admission, recent latency and error rate over the stats window, last error. */
export function providerDetails(s: HealthSources) {
  const out: Record<string, unknown> = {}
  for (const p of s.registry.providers.values()) {
    const w = s.stats?.providerWindow(p.name)
    const breaker = p.breaker.snapshot()
    out[p.name] = {
      status: providerStatus(p, w),
      wire: p.adapter.wire,
      origin: p.upstream.origin,
      breaker,
      recent: w
        ? {
            requests: w.requests,
            failures: w.failures,
            error_rate: w.error_rate,
            latency_ms: { avg: w.avg_ms, p50: w.p50_ms, p95: w.p95_ms, p99: w.p99_ms },
          }
        : null,
      last_error: p.lastError ? { ...p.lastError, message: p.mask.mask(p.lastError.message) } : null,
      admission: p.limiter.snapshot(),
      pool: p.upstream.stats(),
    }
  }
  return out
}
