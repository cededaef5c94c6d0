import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.ts'
import type { Config } from '../config/load.ts'
import type { Summary } from '../context/condenser.ts'
import type {
  CacheMetricsSource,
  CacheSnapshot,
  HealthCheck,
  MemoryPressureTarget,
} from '../observability/sources.ts'
import type { ProviderModels } from '../providers/discovery.ts'
import type { CachedAnswer } from './answer.ts'
import { Codec, type CodecSettings } from './codec.ts'
import type { ConfigCache } from './config-cache.ts'
import { KeyMemo } from './key-memo.ts'
import { PopularityTracker } from './popularity.ts'
import { type InvalidationScope, RedisTier } from './redis-tier.ts'
import { type AnswerMeta, type InvalidationResult, ResponseCache } from './response-cache.ts'
import { RecordCache } from './store.ts'
import type { CacheWarmer } from './warmer.ts'

const MB = 1024 * 1024

export function codecSettings(config: Config, compression: boolean): CodecSettings {
  const c = config.performance.cache
  return {
    compress: compression && c.enable_compression,
    algorithm: c.compression_algorithm,
    level: c.compression_level,
    thresholdBytes: c.compression_threshold_bytes,
    format: c.enable_serialization ? c.serialization_format : 'json',
  }
}

export interface InvalidationReport {
  readonly scope: InvalidationScope
  readonly response: InvalidationResult
  readonly summary: number
  readonly model: number
}

/**
 * Every cache of the proxy, built from the configuration: response (L1 + optional Redis L2),
 * summary, model and configuration caches, and the popularity tracker of the warmer. TTLs are
 * the configured ones times performance.cache_ttl_multiplier. It is the CacheMetricsSource of
 * metrics and health, and each cache is a MemoryPressureTarget of the memory manager.
 */
export class CacheSystem implements CacheMetricsSource {
  readonly response: ResponseCache
  readonly summaries: RecordCache<Summary, { model: string }>
  readonly models: RecordCache<ProviderModels, { provider: string }>
  readonly configs: ConfigCache | undefined
  readonly tracker: PopularityTracker
  readonly keyMemo = new KeyMemo(2 * MB)
  readonly redis: RedisTier | undefined
  readonly instanceId: string
  warmer: CacheWarmer | undefined
  #cleanup: NodeJS.Timeout | undefined

  constructor(config: Config, deps: { clock: Clock; configCache?: ConfigCache; instanceId?: string }) {
    const { clock } = deps
    const c = config.caching
    const multiplier = config.performance.cache_ttl_multiplier
    const now = clock.monotonic
    this.instanceId = deps.instanceId ?? randomUUID()
    const l1 = new RecordCache<CachedAnswer, AnswerMeta>({
      name: 'response',
      maxBytes: c.response_cache.max_size_mb * MB,
      ttlMs: c.response_cache.ttl * 1000 * multiplier,
      codec: new Codec(codecSettings(config, c.response_cache.compression)),
      now,
    })
    this.redis =
      c.redis.url && c.enabled && c.response_cache.enabled
        ? new RedisTier({
            url: c.redis.url,
            prefix: c.redis.key_prefix,
            operationTimeoutMs: c.redis.operation_timeout * 1000,
            connectTimeoutMs: c.redis.connect_timeout * 1000,
            instanceId: this.instanceId,
            clock,
            onRemote: (scope) => this.response.dropLocal(scope, 'remote'),
            onResync: () => this.response.l1.clear('resync'),
          })
        : undefined
    this.response = new ResponseCache({ l1, l2: this.redis })
    this.summaries = new RecordCache({
      name: 'summary',
      maxBytes: c.summary_cache.max_size_mb * MB,
      ttlMs: c.summary_cache.ttl * 1000 * multiplier,
      codec: new Codec(codecSettings(config, c.summary_cache.compression)),
      now,
    })
    this.models = new RecordCache({
      name: 'model',
      maxBytes: c.model_cache.max_size_mb * MB,
      ttlMs: c.model_cache.ttl * 1000 * multiplier,
      codec: new Codec(codecSettings(config, false)),
      now,
    })
    this.configs = deps.configCache
    // Popular keys are fetched again (by the background runs, or POST /api/cache/warm) unless
    // preload_popular is off: then no request is kept.
    this.tracker = new PopularityTracker(
      c.warming.max_tracked_mb * MB,
      c.warming.preload_popular ? Math.min(2, c.warming.preload_threshold) : Number.POSITIVE_INFINITY,
    )
  }

  /** Drops expired entries every memory.cache_cleanup_interval (lru-cache only drops them when touched). */
  startCleanup(intervalMs: number): void {
    this.#cleanup = setInterval(() => {
      for (const cache of [this.response.l1, this.summaries, this.models]) cache.purgeStale()
    }, intervalMs)
    this.#cleanup.unref()
  }

  /** DELETE /api/cache: a scope over the response cache; `all` also empties the summary and model caches. */
  async invalidate(scope: InvalidationScope): Promise<InvalidationReport> {
    const response = await this.response.invalidate(scope)
    const all = scope.kind === 'all'
    const summary = all ? this.summaries.clear('manual') : 0
    const model =
      scope.kind === 'provider'
        ? this.models.deleteWhere((_k, meta) => meta.provider === scope.provider, 'provider')
        : all
          ? this.models.clear('manual')
          : 0
    return { scope, response, summary, model }
  }

  targets(): MemoryPressureTarget[] {
    const targets: MemoryPressureTarget[] = [this.response.l1, this.summaries, this.models, this.keyMemo]
    if (this.configs) targets.push(this.configs)
    return targets
  }

  snapshot(): CacheSnapshot {
    const response = this.response.figures()
    const caches: CacheSnapshot['caches'] = {
      response,
      summary: this.summaries.figures(),
      model: this.models.figures(),
      key_memo: this.keyMemo.figures(),
    }
    if (this.configs) caches.config = this.configs.figures()
    const redis = this.redis?.status()
    return {
      hit_rate: response.hit_rate,
      hits: response.hits,
      misses: response.misses,
      bypasses: this.response.bypasses,
      caches,
      redis: redis ?? { configured: false, connected: false, last_error: null },
      ...(this.warmer ? { warming: this.warmer.stats() } : {}),
    }
  }

  /** For /health, which answers without a key: states and reasons, never an error message or address. */
  health(): HealthCheck {
    const status = this.redis?.status()
    const redis = status ? { configured: true, connected: status.connected } : { configured: false }
    const hit_rate = this.response.figures().hit_rate
    if (status?.degraded) return { status: 'degraded', reason: status.degraded, redis, hit_rate }
    return { status: 'ok', redis, hit_rate }
  }

  async close(): Promise<void> {
    if (this.#cleanup) clearInterval(this.#cleanup)
    this.warmer?.stop()
    await this.redis?.close()
  }
}
