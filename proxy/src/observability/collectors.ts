import { Counter, Gauge, type Registry } from 'prom-client'
import type { ProviderRuntime } from '../providers/registry.ts'
import type { CacheMetricsSource } from './sources.ts'

// Gauges read when Prometheus scrapes, never on the request path: pools, breakers, caches,
// memory, the event loop. `aggregator` says how a primary combines its workers' values.

export interface MemoryGauges {
  usage_ratio: number
  limit_bytes: number
  limit_source: string
  leak_suspected: boolean
  emergency_cleanups: number
  gc_runs: number
  heap_dumps: number
}

export interface ScrapeSources {
  readonly providers: () => Iterable<ProviderRuntime>
  readonly maxConnections: number
  readonly cache: () => CacheMetricsSource | undefined
  readonly memory: () => MemoryGauges | undefined
  readonly eventLoopUtilization: () => number
  readonly version: string
  readonly now: () => number
}

const BREAKER_STATES = ['closed', 'open', 'half_open'] as const

export function registerCollectors(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry]
  const perProvider = (name: string, help: string, read: (p: ProviderRuntime) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['provider'],
      registers,
      collect() {
        for (const p of sources.providers()) this.set({ provider: p.name }, read(p))
      },
    })

  new Gauge({
    name: 'llm_proxy_circuit_breaker_state',
    help: 'Circuit breaker state per provider: 1 for the current state (summed over workers).',
    labelNames: ['provider', 'state'],
    registers,
    collect() {
      for (const p of sources.providers()) {
        const current = p.breaker.state
        for (const state of BREAKER_STATES) this.set({ provider: p.name, state }, current === state ? 1 : 0)
      }
    },
  })
  // Admission (resilience/limiter.ts): the adaptive concurrency limit, calls in flight and queued.
  perProvider(
    'llm_proxy_provider_concurrency_limit',
    'Concurrent calls a provider is given now (lowered by 429s).',
    (p) => p.limiter.snapshot().limit,
  )
  perProvider('llm_proxy_provider_in_flight', 'Calls to a provider in progress.', (p) => p.limiter.inFlight)
  perProvider(
    'llm_proxy_provider_queued',
    'Calls waiting for a slot of a provider.',
    (p) => p.limiter.snapshot().queued,
  )
  perProvider(
    'llm_proxy_provider_throttling',
    '1 while most recent calls to a provider were answered 429.',
    (p) => (p.limiter.throttling ? 1 : 0),
  )

  // undici pool stats: connected sockets, of which `free` are idle; requests running and pending.
  perProvider('llm_proxy_pool_active_connections', 'Upstream sockets busy with a request.', (p) => {
    const s = p.upstream.stats()
    return Math.max(0, s.connected - s.free)
  })
  perProvider('llm_proxy_pool_idle_connections', 'Upstream sockets open and idle (kept alive).', (p) => {
    return p.upstream.stats().free
  })
  perProvider('llm_proxy_pool_pending_requests', 'Requests waiting for an upstream socket.', (p) => {
    return p.upstream.stats().pending
  })
  perProvider('llm_proxy_pool_running_requests', 'Requests in progress on upstream sockets.', (p) => {
    return p.upstream.stats().running
  })
  perProvider('llm_proxy_pool_max_connections', 'Configured http_client.pool_limits.max_connections.', () => {
    return sources.maxConnections
  })

  registerCacheCollectors(registry, sources)
  registerProcessCollectors(registry, sources)
}

function registerCacheCollectors(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry]
  const perCache = (name: string, help: string, pick: 'entries' | 'bytes' | 'max_bytes') =>
    new Gauge({
      name,
      help,
      labelNames: ['cache'],
      registers,
      collect() {
        const snap = sources.cache()?.snapshot()
        if (snap) for (const [cache, f] of Object.entries(snap.caches)) this.set({ cache }, f[pick])
      },
    })
  new Gauge({
    name: 'llm_proxy_cache_hit_ratio',
    help: 'Response cache hits over lookups since start (0..1).',
    registers,
    aggregator: 'average',
    collect() {
      const snap = sources.cache()?.snapshot()
      this.set(snap ? snap.hit_rate : 0)
    },
  })
  perCache('llm_proxy_cache_entries', 'Entries held per cache.', 'entries')
  perCache('llm_proxy_cache_size_bytes', 'Bytes held per cache.', 'bytes')
  perCache('llm_proxy_cache_max_size_bytes', 'Configured size limit per cache.', 'max_bytes')
  const cumulative = (name: string, help: string, pick: 'hits' | 'misses') =>
    new Counter({
      name,
      help,
      labelNames: ['cache'],
      registers,
      collect() {
        const snap = sources.cache()?.snapshot()
        this.reset()
        if (snap) for (const [cache, f] of Object.entries(snap.caches)) this.inc({ cache }, f[pick])
      },
    })
  cumulative('llm_proxy_cache_hits_total', 'Cache hits per cache since start.', 'hits')
  cumulative('llm_proxy_cache_misses_total', 'Cache misses per cache since start.', 'misses')
  new Counter({
    name: 'llm_proxy_cache_evictions_total',
    help: 'Cache evictions per cache and reason since start.',
    labelNames: ['cache', 'reason'],
    registers,
    collect() {
      const snap = sources.cache()?.snapshot()
      this.reset()
      if (!snap) return
      for (const [cache, f] of Object.entries(snap.caches)) {
        for (const [reason, n] of Object.entries(f.evictions)) this.inc({ cache, reason }, n)
      }
    },
  })
}

function registerProcessCollectors(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry]
  const memoryGauge = (name: string, help: string, read: (m: MemoryGauges) => number) =>
    new Gauge({
      name,
      help,
      registers,
      aggregator: 'max',
      collect() {
        const m = sources.memory()
        if (m) this.set(read(m))
      },
    })
  memoryGauge(
    'llm_proxy_memory_usage_ratio',
    'Memory in use over the effective limit (0..1).',
    (m) => m.usage_ratio,
  )
  memoryGauge(
    'llm_proxy_memory_limit_bytes',
    'The effective memory limit (heap, cgroup or config).',
    (m) => m.limit_bytes,
  )
  memoryGauge('llm_proxy_memory_leak_suspected', '1 when the post-GC heap trend looks like a leak.', (m) =>
    m.leak_suspected ? 1 : 0,
  )
  const memoryCounter = (name: string, help: string, read: (m: MemoryGauges) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        const m = sources.memory()
        this.reset()
        if (m) this.inc(read(m))
      },
    })
  memoryCounter(
    'llm_proxy_memory_emergency_cleanups_total',
    'Emergency cleanups (caches shrunk above memory.max_usage_percent).',
    (m) => m.emergency_cleanups,
  )
  memoryCounter(
    'llm_proxy_memory_gc_runs_total',
    'Garbage collections the proxy asked for.',
    (m) => m.gc_runs,
  )
  memoryCounter(
    'llm_proxy_heap_dumps_total',
    'Heap snapshots written on high memory usage.',
    (m) => m.heap_dumps,
  )
  new Gauge({
    name: 'llm_proxy_event_loop_utilization_ratio',
    help: 'Share of time the event loop was busy since the previous scrape (0..1).',
    registers,
    aggregator: 'average',
    collect() {
      this.set(sources.eventLoopUtilization())
    },
  })
  new Gauge({
    name: 'llm_proxy_build_info',
    help: 'Always 1; labels carry the proxy and Node.js versions.',
    labelNames: ['version', 'node_version'],
    registers,
    aggregator: 'first',
    collect() {
      this.set({ version: sources.version, node_version: process.version }, 1)
    },
  })
}
