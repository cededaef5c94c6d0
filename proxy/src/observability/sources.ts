// Contracts between the proxy's subsystems: what the caches give to metrics, health and the
// memory manager. Kept apart so neither side imports the other's implementation.

/** Something that holds memory the proxy can give back under pressure (a cache). */
export interface MemoryPressureTarget {
  readonly name: string
  /** Bytes currently held (an estimate is fine; it must be cheap). */
  bytes(): number
  /** Drops about `fraction` (0..1] of what it holds, least valuable first; returns bytes freed. */
  shrink(fraction: number): number
}

export interface CacheFigures {
  hits: number
  misses: number
  hit_rate: number
  entries: number
  bytes: number
  max_bytes: number
  evictions: Record<string, number>
  compression_ratio: number | null
}

export interface CacheSnapshot {
  /** Hit rate of the response cache over all lookups since start (0 when none yet). */
  hit_rate: number
  hits: number
  misses: number
  bypasses: number
  caches: Record<string, CacheFigures>
  redis?: { configured: boolean; connected: boolean; last_error: string | null }
  warming?: Record<string, number | string | null>
}

export interface HealthCheck {
  status: 'ok' | 'degraded' | 'unavailable'
  [detail: string]: unknown
}

/** The caching subsystem as metrics and health see it. */
export interface CacheMetricsSource {
  snapshot(): CacheSnapshot
  health(): HealthCheck
}
