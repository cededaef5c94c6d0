import { LRUCache } from 'lru-cache'
import type { CacheFigures } from '../observability/sources.ts'

/**
 * What every cache of the proxy shares: an lru-cache bounded in bytes (maxSize and
 * sizeCalculation, never an entry count), hit and miss counters, removals counted by reason
 * (lru-cache's dispose reasons, or the reason the proxy gave for a removal it started), and
 * shrinking under memory pressure, least recently used first.
 */
export class BoundedLru<K extends {}, V extends {}> {
  readonly lru: LRUCache<K, V>
  readonly maxBytes: number
  readonly removals: Record<string, number> = {}
  hits = 0
  misses = 0
  #pendingReason: string | undefined

  constructor(options: Omit<LRUCache.Options<K, V, unknown>, 'dispose' | 'maxSize'> & { maxSize: number }) {
    this.maxBytes = options.maxSize
    this.lru = new LRUCache<K, V>({
      ...options,
      dispose: (_value, _key, reason) => {
        const counted = this.#pendingReason ?? reason
        this.removals[counted] = (this.removals[counted] ?? 0) + 1
      },
    } as LRUCache.Options<K, V, unknown>)
  }

  /** Looks a key up and counts a hit or a miss. */
  lookup(key: K): V | undefined {
    const value = this.lru.get(key)
    if (value === undefined) this.misses++
    else this.hits++
    return value
  }

  /** The cached value, or `compute()`'s, stored; counts a hit or a miss. */
  getOrSet(key: K, compute: () => V): V {
    const known = this.lookup(key)
    if (known !== undefined) return known
    const value = compute()
    this.lru.set(key, value)
    return value
  }

  /** Runs `run`, counting the entries it removes under `reason`. */
  withReason<R>(reason: string, run: () => R): R {
    this.#pendingReason = reason
    try {
      return run()
    } finally {
      this.#pendingReason = undefined
    }
  }

  bytes(): number {
    return this.lru.calculatedSize
  }

  /** Drops about `fraction` of the bytes held, least recently used first; returns bytes freed. */
  shrink(fraction: number): number {
    const before = this.lru.calculatedSize
    const goal = before * Math.min(1, Math.max(0, fraction))
    this.withReason('memory_pressure', () => {
      while (this.lru.size > 0 && before - this.lru.calculatedSize < goal) this.lru.pop()
    })
    return before - this.lru.calculatedSize
  }

  figures(compressionRatio: number | null = null): CacheFigures {
    const lookups = this.hits + this.misses
    return {
      hits: this.hits,
      misses: this.misses,
      hit_rate: lookups === 0 ? 0 : this.hits / lookups,
      entries: this.lru.size,
      bytes: this.lru.calculatedSize,
      max_bytes: this.maxBytes,
      evictions: { ...this.removals },
      compression_ratio: compressionRatio,
    }
  }
}
