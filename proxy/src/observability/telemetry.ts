import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Clock } from '../clock.ts'
import type { Config } from '../config/load.ts'
import { redactSecrets } from '../config/redact.ts'
import type { ProviderRegistry } from '../providers/registry.ts'
import { AlertEngine } from './alert-engine.ts'
import type { AlertMetrics } from './alert-expr.ts'
import { alertMetrics, registerAlertMetrics } from './alert-metrics.ts'
import { registerCollectors } from './collectors.ts'
import { HeapDumper } from './heap-dump.ts'
import { cgroupLimit, effectiveLimit, type MemoryLimit, type MemoryReading } from './memory-limit.ts'
import { MemoryManager, type Timers } from './memory-manager.ts'
import { modelLabels, PromMetrics } from './metrics.ts'
import type { JsonSources, WorkerSummary } from './metrics-json.ts'
import { combineObservers, type Observer } from './observer.ts'
import { RequestStats, type StatsExport, statsSections } from './request-stats.ts'
import type { CacheMetricsSource, HealthCheck, MemoryPressureTarget } from './sources.ts'
import { SystemSampler } from './system.ts'

// Wires the observability pieces for one process: the metrics observers (on the request path),
// and, once the providers exist, the memory manager, system sampler, scrape-time gauges and
// alert engine. buildApp creates it; the routes read it.

export type PromJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

/** One worker's figures, sent to the primary for cluster-wide answers. */
export interface WorkerReport {
  readonly worker_id: number | null
  readonly pid: number
  readonly prom: PromJson
  readonly stats: StatsExport | null
  readonly summary: WorkerSummary & {
    memory_usage_percent: number
    open_breakers: number
    cache_hit_rate: number | null
  }
}

export interface ClusterReports {
  readonly workers: WorkerReport[]
  /** The primary's own metrics (workers, recycles, alerts). */
  readonly primary: PromJson
}

/** A worker's line to its primary (node:cluster); absent in a single process. */
export interface ClusterLink {
  readonly workerId: number
  readonly workers: number
  /** Every live worker's report (this one's included) and the primary's own metrics. */
  collect(): Promise<ClusterReports>
}

/** What tests (and the worker entry) may inject; everything has a production default. */
export interface MonitoringDeps {
  readonly memoryRead?: () => MemoryReading
  readonly memoryLimit?: MemoryLimit
  readonly timers?: Timers
  readonly observeGc?: boolean
  readonly windowMs?: number
  readonly heapDumpWrite?: (file: string) => Promise<void>
  readonly cluster?: ClusterLink
}

export interface AttachSources {
  readonly registry: ProviderRegistry
  /** The process's admission control (in-flight requests, load shed). */
  readonly admission?: { health(): HealthCheck }
  readonly memoryTargets: readonly MemoryPressureTarget[]
  readonly cache: () => CacheMetricsSource | undefined
}

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
).version

export class Telemetry {
  readonly config: Config
  readonly version = VERSION
  readonly enabled: boolean
  readonly stats: RequestStats | undefined
  readonly prom: PromMetrics
  readonly observer: Observer | undefined
  readonly deps: MonitoringDeps
  readonly startedAt: number
  readonly now: () => number
  readonly #clock: Clock
  readonly #logger: Logger
  shuttingDown = false
  system!: SystemSampler
  memory!: MemoryManager
  alerts: AlertEngine | undefined
  sources!: AttachSources

  constructor(config: Config, options: { clock: Clock; logger: Logger; deps?: MonitoringDeps }) {
    this.config = config
    this.deps = options.deps ?? {}
    this.#clock = options.clock
    this.#logger = options.logger
    this.now = options.clock.now
    this.startedAt = options.clock.now()
    this.enabled = config.performance.monitoring_enabled
    const providers = config.providers.map((p) => p.name)
    this.prom = new PromMetrics({ models: modelLabels(config.models), providers })
    if (this.enabled) {
      this.stats = new RequestStats(providers, { now: options.clock.now, windowMs: this.deps.windowMs })
      this.observer = combineObservers([this.stats, this.prom])
    }
  }

  /** Second phase, once the providers and caches exist. Starts the timers; `stop` ends them. */
  attach(sources: AttachSources): void {
    const c = this.config
    this.sources = sources
    this.system = new SystemSampler({ now: this.#clock.now })
    const limit =
      this.deps.memoryLimit ??
      effectiveLimit({ cgroup: cgroupLimit(), configMb: c.memory.limit_mb, workers: c.server.workers })
    const dumps = c.profiling.enabled && c.profiling.dump_on_high_usage && c.profiling.max_dumps > 0
    this.memory = new MemoryManager({
      maxUsagePercent: c.memory.max_usage_percent,
      gcThresholdPercent: c.memory.gc_threshold_percent,
      intervalMs: c.memory.monitoring_interval * 1000,
      limit,
      targets: sources.memoryTargets,
      now: this.#clock.now,
      logger: this.#logger,
      read: this.deps.memoryRead,
      timers: this.deps.timers,
      observeGc: this.deps.observeGc,
      dumper: dumps
        ? new HeapDumper({
            dir: c.performance.memory.memory_dump_path,
            maxDumps: c.profiling.max_dumps,
            minIntervalMs: c.profiling.profile_interval * 1000,
            now: this.#clock.now,
            write: this.deps.heapDumpWrite,
          })
        : undefined,
    })
    registerCollectors(this.prom.registry, {
      providers: () => sources.registry.providers.values(),
      maxConnections: c.http_client.pool_limits.max_connections,
      cache: sources.cache,
      memory: () => this.memory.gauges(),
      eventLoopUtilization: () => this.system.utilizationSinceLastScrape(),
      version: VERSION,
      now: this.now,
    })
    const onDelivery = registerAlertMetrics(this.prom.registry, () => this.alerts)
    // In a cluster the primary evaluates the rules on every worker's figures, once.
    if (c.alerting.enabled && !this.deps.cluster) {
      this.alerts = new AlertEngine({
        config: c.alerting,
        metrics: () => this.alertMetrics(),
        now: this.#clock.now,
        logger: this.#logger,
        timers: this.deps.timers,
        onDelivery,
      })
      this.alerts.start()
    }
    this.memory.start()
  }

  async stop(): Promise<void> {
    this.memory?.stop()
    this.system?.stop()
    await this.alerts?.stop()
  }

  alertMetrics(): AlertMetrics {
    const summary = this.summary()
    return alertMetrics(statsSections(this.stats ? [this.stats.export()] : []), {
      memoryUsagePercent: summary.memory_usage_percent,
      openBreakers: summary.open_breakers,
      cacheHitRate: summary.cache_hit_rate,
    })
  }

  summary(): WorkerReport['summary'] {
    const m = this.memory.status()
    let open = 0
    for (const p of this.sources.registry.providers.values()) if (p.breaker.state === 'open') open++
    const cache = this.sources.cache()
    return {
      worker_id: this.deps.cluster?.workerId ?? null,
      pid: process.pid,
      requests: this.stats?.totalRequests ?? 0,
      rss_mb: m.rss_mb,
      heap_used_mb: m.heap_used_mb,
      memory_usage_percent: m.usage_percent,
      open_breakers: open,
      cache_hit_rate: cache ? cache.snapshot().hit_rate : null,
    }
  }

  async report(): Promise<WorkerReport> {
    return {
      worker_id: this.deps.cluster?.workerId ?? null,
      pid: process.pid,
      prom: await this.prom.registry.getMetricsAsJSON(),
      stats: this.stats?.export() ?? null,
      summary: this.summary(),
    }
  }

  jsonSources(): JsonSources {
    const c = this.config
    return {
      registry: this.sources.registry,
      poolLimits: c.http_client.pool_limits,
      cache: this.sources.cache,
      memory: this.memory,
      system: this.system,
      monitoringEnabled: this.enabled,
      process: {
        pid: process.pid,
        worker_id: this.deps.cluster?.workerId ?? null,
        workers: this.deps.cluster?.workers ?? 1,
      },
      now: this.#clock.now,
    }
  }

  /** A digest of the effective configuration with its secrets redacted: equal digests, equal configs. */
  configDigest(): string {
    const text = JSON.stringify(redactSecrets(this.config))
    return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`
  }
}
