import type { ProviderRegistry } from '../providers/registry.ts'
import type { ProviderBreaker } from '../resilience/breaker.ts'
import type { MemoryManager } from './memory-manager.ts'
import { type StatsExport, statsSections } from './request-stats.ts'
import type { CacheMetricsSource } from './sources.ts'
import type { SystemSampler } from './system.ts'

// The JSON /metrics document, section by section as the guide's troubleshooting commands query
// it (`jq '.cache'`, `.http_client`, `.connection_pool`, ...). Documented in proxy/OBSERVABILITY.md.

export interface ProcessInfo {
  readonly pid: number
  /** node:cluster worker id, or null in a single process. */
  readonly worker_id: number | null
  readonly workers: number
}

export interface JsonSources {
  readonly registry: ProviderRegistry
  readonly poolLimits: { readonly max_connections: number; readonly max_keepalive_connections: number }
  readonly cache: () => CacheMetricsSource | undefined
  readonly memory: MemoryManager
  readonly system: SystemSampler
  readonly monitoringEnabled: boolean
  readonly process: ProcessInfo
  readonly now: () => number
}

export interface WorkerSummary {
  worker_id: number | null
  pid: number
  requests: number
  rss_mb: number
  heap_used_mb: number
}

export function connectionPools(src: JsonSources) {
  const out: Record<string, unknown> = {}
  const { max_connections, max_keepalive_connections } = src.poolLimits
  for (const p of src.registry.providers.values()) {
    const s = p.upstream.stats()
    const idle = s.free
    out[p.name] = {
      active: Math.max(0, s.connected - s.free),
      idle,
      pending: s.pending,
      queued: s.queued,
      running: s.running,
      connected: s.connected,
      size: s.size,
      max_connections,
      max_keepalive_connections,
      idle_over_keepalive_limit: idle > max_keepalive_connections,
      utilization: round2(s.connected / max_connections),
    }
  }
  return out
}

export function circuitBreakers(registry: ProviderRegistry) {
  const out: Record<string, ReturnType<ProviderBreaker['snapshot']>> = {}
  for (const p of registry.providers.values()) out[p.name] = p.breaker.snapshot()
  return out
}

export function cacheSection(source: CacheMetricsSource | undefined) {
  if (!source) return { enabled: false }
  return { enabled: true, ...source.snapshot() }
}

export function memorySection(memory: MemoryManager, now: number) {
  return {
    ...memory.status(),
    emergency_cleanups: memory.emergencyCleanups,
    gentle_cleanups: memory.gentleCleanups,
    gc_runs: memory.gcRuns,
    last_cleanup: memory.lastCleanup ?? null,
    leak: memory.leak.verdict(now),
  }
}

/**
 * The whole document. `stats` is this process's export, or every worker's when a cluster
 * answers: then `requests`, `http_client` and `providers` are cluster-wide (scope "cluster")
 * while the other sections describe the worker that answered, listed in `workers`.
 */
export function metricsDocument(src: JsonSources, stats: readonly StatsExport[], workers?: WorkerSummary[]) {
  const now = src.now()
  const sections = statsSections(stats)
  const providers: Record<string, unknown> = {}
  for (const p of src.registry.providers.values()) {
    providers[p.name] = {
      ...(sections.providers[p.name] as object),
      last_error: p.lastError ? { ...p.lastError, message: p.mask.mask(p.lastError.message) } : null,
    }
  }
  return {
    timestamp: new Date(now).toISOString(),
    scope: workers ? 'cluster' : 'process',
    process: src.process,
    monitoring_enabled: src.monitoringEnabled,
    window_seconds: sections.requests.window_seconds,
    requests: sections.requests,
    http_client: sections.http_client,
    cache: cacheSection(src.cache()),
    connection_pool: connectionPools(src),
    providers,
    circuit_breakers: circuitBreakers(src.registry),
    memory: memorySection(src.memory, now),
    system: src.system.snapshot(),
    ...(workers ? { workers } : {}),
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100
}
