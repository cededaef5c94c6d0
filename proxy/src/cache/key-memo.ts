import { LRUCache } from 'lru-cache'
import type { CacheFigures, MemoryPressureTarget } from '../observability/sources.ts'
import { ENTRY_OVERHEAD } from './store.ts'

/** Bodies larger than this are keyed every time (they are rarely repeated byte for byte). */
export const MEMO_MAX_BODY = 8 * 1024

/**
 * Request body bytes -> response cache key. Clients (SDKs, load tests) send the same request as
 * the same bytes, so the canonical form and its sha256 are computed once per distinct body and
 * a repeat costs a map lookup: about a tenth of a cache hit's time. Within one proxy the body
 * decides the route (its model), so the key is a function of the bytes alone. Bounded in bytes.
 */
export class KeyMemo implements MemoryPressureTarget {
  readonly name = 'key_memo'
  readonly maxBytes: number
  readonly #lru: LRUCache<string, string>
  readonly #removals: Record<string, number> = {}
  #shrinking = false
  hits = 0
  misses = 0

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
    this.#lru = new LRUCache<string, string>({
      maxSize: maxBytes,
      sizeCalculation: (key, body) => body.length + key.length * 2 + ENTRY_OVERHEAD,
      dispose: (_v, _k, reason) => {
        const counted = this.#shrinking ? 'memory_pressure' : reason
        this.#removals[counted] = (this.#removals[counted] ?? 0) + 1
      },
    })
  }

  key(raw: Buffer, compute: () => string): string {
    if (raw.length === 0 || raw.length > MEMO_MAX_BODY) return compute()
    // latin1: one character a byte, no UTF-8 decoding; only used as a map key.
    const body = raw.toString('latin1')
    const known = this.#lru.get(body)
    if (known !== undefined) {
      this.hits++
      return known
    }
    this.misses++
    const key = compute()
    this.#lru.set(body, key)
    return key
  }

  bytes(): number {
    return this.#lru.calculatedSize
  }

  shrink(fraction: number): number {
    const before = this.#lru.calculatedSize
    this.#shrinking = true
    try {
      while (this.#lru.size > 0 && before - this.#lru.calculatedSize < before * fraction) this.#lru.pop()
    } finally {
      this.#shrinking = false
    }
    return before - this.#lru.calculatedSize
  }

  figures(): CacheFigures {
    const lookups = this.hits + this.misses
    return {
      hits: this.hits,
      misses: this.misses,
      hit_rate: lookups === 0 ? 0 : this.hits / lookups,
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      max_bytes: this.maxBytes,
      evictions: { ...this.#removals },
      compression_ratio: null,
    }
  }
}
