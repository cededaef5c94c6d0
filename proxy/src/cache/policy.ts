import type { Dialect, Json } from '../providers/types.ts'

/**
 * How one chat request uses the response cache:
 * - `use`: look up (L1, then Redis); on a miss join or start the upstream call for the key
 *   (coalescing) and store its answer. x-cache HIT or MISS.
 * - `refresh` (`Cache-Control: no-cache`): no lookup and no coalescing, a fresh upstream call
 *   whose answer replaces the entry. x-cache BYPASS.
 * - `bypass` (`Cache-Control: no-store`, caching disabled, or a non-deterministic request when
 *   caching.response_cache.cache_non_deterministic is false): no lookup, no store, no
 *   coalescing. x-cache BYPASS.
 */
export type CacheMode = 'use' | 'refresh' | 'bypass'

export interface PolicySettings {
  readonly enabled: boolean
  readonly cacheNonDeterministic: boolean
}

/**
 * Deterministic enough to cache when non-deterministic answers are not: one choice, and
 * temperature 0 or a seed (an unset temperature is the API's default of 1). Embeddings always are.
 */
export function isDeterministic(body: Record<string, Json>, dialect: Dialect = 'chat'): boolean {
  if (dialect === 'embeddings') return true
  const n = body.n ?? 1
  if (n !== 1) return false
  return body.temperature === 0 || typeof body.seed === 'number'
}

export function cacheMode(
  cacheControl: string | string[] | undefined,
  body: Record<string, Json>,
  settings: PolicySettings,
  dialect: Dialect = 'chat',
): CacheMode {
  if (!settings.enabled) return 'bypass'
  if (cacheControl !== undefined) {
    const value = (Array.isArray(cacheControl) ? cacheControl.join(',') : cacheControl).toLowerCase()
    if (/(^|[\s,])no-store($|[\s,])/.test(value)) return 'bypass'
    if (/(^|[\s,])no-cache($|[\s,=])/.test(value)) return 'refresh'
  }
  if (!settings.cacheNonDeterministic && !isDeterministic(body, dialect)) return 'bypass'
  return 'use'
}
