import { LRUCache } from 'lru-cache'
import type { CacheFigures, MemoryPressureTarget } from '../observability/sources.ts'
import { BoundedLru } from './bounded-lru.ts'
import { type Codec, isCompressed } from './codec.ts'
import { ownedBytes } from './owned.ts'

/** Why an entry left a cache: lru-cache's dispose reasons and the proxy's own. */
export type RemovalReason =
  | 'evict' // least recently used, to stay under the byte bound
  | 'expire' // its TTL ran out
  | 'set' // replaced by a newer answer
  | 'delete' // removed one by one (e.g. a record that no longer decodes)
  | 'manual' // DELETE /api/cache
  | 'provider' // DELETE /api/cache?provider=
  | 'pattern' // DELETE /api/cache?pattern=
  | 'remote' // an invalidation published by another instance
  | 'resync' // invalidations may have been missed while Redis was unreachable
  | 'memory_pressure' // the memory manager asked the caches to shrink

/** One entry: its record (see codec.ts) and what invalidation filters on without decoding it. */
export interface Slot<M> {
  readonly record: Buffer
  readonly rawBytes: number
  readonly meta: M
  /**
   * The decoded value of an uncompressed record, kept once read: byte fields are views of the
   * record, so it costs a few objects (DECODED_OVERHEAD), not a second copy of the answer.
   */
  hot?: unknown
}

export interface RecordCacheOptions {
  readonly name: string
  readonly maxBytes: number
  /** Default TTL in ms (already multiplied by performance.cache_ttl_multiplier). */
  readonly ttlMs: number
  readonly codec: Codec
  /** Monotonic milliseconds (the injected clock), for TTLs. */
  readonly now: () => number
  /** An entry larger than this is not kept (default: an eighth of the bound). */
  readonly maxEntryBytes?: number
}

// What an entry costs beyond its record bytes and its key (counted at 2 bytes a character): the
// Buffer object, the slot object and lru-cache's index, map and typed-array slots. Measured with
// --expose-gc (heap + external) over 200k entries of 64-byte records and 64-character keys:
// 633 bytes each, so 633 - 64 - 128 = 441.
export const ENTRY_OVERHEAD = 450
/**
 * The decoded value kept on an uncompressed slot: the answer object, its Buffer views, usage and
 * small strings. Measured the same way over 100k chat answers: 570 bytes each.
 */
export const DECODED_OVERHEAD = 600

/**
 * A cache of encoded records bounded in bytes (lru-cache maxSize + sizeCalculation), with a TTL,
 * hit/miss counters, removals by reason and the compression ratio of what was written.
 */
export class RecordCache<T, M extends object = object> implements MemoryPressureTarget {
  readonly name: string
  readonly codec: Codec
  readonly ttlMs: number
  readonly #store: BoundedLru<string, Slot<M>>
  readonly #lru: BoundedLru<string, Slot<M>>['lru']
  /**
   * The decoded values of compressed records read recently, by slot (so a replaced or removed
   * entry's copy is never served), bounded to an eighth of the cache's bytes at their inflated
   * size: a hot compressed entry (a large answer, embeddings) is inflated once, not on every hit.
   */
  readonly #inflated: LRUCache<Slot<M>, { value: unknown }>
  readonly #sizeOf = (slot: Slot<M>, key: string): number =>
    slot.record.length + key.length * 2 + ENTRY_OVERHEAD + (isCompressed(slot.record) ? 0 : DECODED_OVERHEAD)
  #rawWritten = 0
  #storedWritten = 0

  constructor(options: RecordCacheOptions) {
    this.name = options.name
    this.codec = options.codec
    this.ttlMs = options.ttlMs
    const maxBytes = Math.max(1024, Math.floor(options.maxBytes))
    this.#store = new BoundedLru<string, Slot<M>>({
      maxSize: maxBytes,
      maxEntrySize: options.maxEntryBytes ?? Math.max(1024, Math.floor(maxBytes / 8)),
      sizeCalculation: this.#sizeOf,
      ttl: Math.max(1, Math.round(options.ttlMs)),
      // Resolution 0: read the clock on every check, so an injected clock is obeyed exactly.
      ttlResolution: 0,
      perf: { now: options.now },
    })
    this.#lru = this.#store.lru
    this.#inflated = new LRUCache<Slot<M>, { value: unknown }>({
      maxSize: Math.max(1024, Math.floor(maxBytes / 8)),
      sizeCalculation: (_value, slot) => Math.max(1, slot.rawBytes + DECODED_OVERHEAD),
      ttl: Math.max(1, Math.round(options.ttlMs)),
      ttlResolution: 0,
      perf: { now: options.now },
    })
  }

  get maxBytes(): number {
    return this.#store.maxBytes
  }

  get hits(): number {
    return this.#store.hits
  }

  get misses(): number {
    return this.#store.misses
  }

  /** Looks a key up and counts a hit or a miss. */
  get(key: string): Slot<M> | undefined {
    return this.#store.lookup(key)
  }

  /** Looks without counting or refreshing recency (invalidation, warming). */
  peek(key: string): Slot<M> | undefined {
    return this.#lru.peek(key)
  }

  has(key: string): boolean {
    return this.#lru.has(key)
  }

  decode(slot: Slot<M>): T {
    return this.codec.decode<T>(slot.record)
  }

  /**
   * Decodes and shapes a slot's value; an uncompressed record's is kept on the slot, a compressed
   * one's in the bounded inflated tier, so a hot entry is decoded once. The value is shared by
   * every reader: it must not be changed.
   */
  read<R>(slot: Slot<M>, shape: (value: T) => R): R {
    if (slot.hot !== undefined) return slot.hot as R
    if (!isCompressed(slot.record)) {
      const value = shape(this.codec.decode<T>(slot.record))
      slot.hot = value
      return value
    }
    const warm = this.#inflated.get(slot)
    if (warm !== undefined) return warm.value as R
    const value = shape(this.codec.decode<T>(slot.record))
    this.#inflated.set(slot, { value })
    return value
  }

  /** Encodes and stores; returns the slot (undefined when the entry is too large to keep). */
  set(key: string, value: T, meta: M, ttlMs?: number): Slot<M> | undefined {
    const { record, rawBytes } = this.codec.encode(value)
    return this.setRecord(key, { record, rawBytes, meta }, ttlMs)
  }

  /** Stores a record already encoded (read from Redis: copied out of the reply it arrived in). */
  setRecord(key: string, given: Slot<M>, ttlMs?: number): Slot<M> | undefined {
    const record = ownedBytes(given.record)
    const slot = record === given.record ? given : { ...given, record }
    // Only an entry replaced can have an inflated copy to drop (none when nothing is compressed).
    if (this.#inflated.size > 0) {
      const replaced = this.#lru.peek(key)
      if (replaced !== undefined) this.#inflated.delete(replaced)
    }
    this.#lru.set(key, slot, ttlMs === undefined ? undefined : { ttl: Math.max(1, Math.round(ttlMs)) })
    // lru-cache stores nothing larger than maxEntrySize (and drops what the key held).
    if (this.#sizeOf(slot, key) > this.#lru.maxEntrySize) return undefined
    this.#rawWritten += slot.rawBytes
    this.#storedWritten += slot.record.length
    return slot
  }

  /** Milliseconds left before the entry expires; 0 when absent. */
  remainingTtl(key: string): number {
    const left = this.#lru.getRemainingTTL(key)
    return Number.isFinite(left) ? Math.max(0, left) : this.ttlMs
  }

  delete(key: string, reason: RemovalReason = 'delete'): boolean {
    const slot = this.#lru.peek(key)
    if (slot !== undefined) this.#inflated.delete(slot)
    return this.#store.withReason(reason, () => this.#lru.delete(key))
  }

  /** Drops every entry matching `test`; returns how many. */
  deleteWhere(test: (key: string, meta: M) => boolean, reason: RemovalReason): number {
    const doomed: string[] = []
    for (const [key, slot] of this.#lru.entries())
      if (test(key, slot.meta)) {
        doomed.push(key)
        this.#inflated.delete(slot)
      }
    this.#store.withReason(reason, () => {
      for (const key of doomed) this.#lru.delete(key)
    })
    return doomed.length
  }

  clear(reason: RemovalReason): number {
    const n = this.#lru.size
    this.#inflated.clear()
    this.#store.withReason(reason, () => this.#lru.clear())
    return n
  }

  /** Drops expired entries now (lru-cache only notices them when it touches them). */
  purgeStale(): boolean {
    this.#inflated.purgeStale()
    return this.#lru.purgeStale()
  }

  keys(): IterableIterator<string> {
    return this.#lru.keys()
  }

  get size(): number {
    return this.#lru.size
  }

  /** Bytes held: the records, and the inflated copies of hot compressed ones. */
  bytes(): number {
    return this.#store.bytes() + this.#inflated.calculatedSize
  }

  /**
   * Drops about `fraction` of the bytes held, least recently used first; returns bytes freed.
   * The inflated copies go first and whole: they are only a shortcut.
   */
  shrink(fraction: number): number {
    const inflated = this.#inflated.calculatedSize
    this.#inflated.clear()
    return inflated + this.#store.shrink(fraction)
  }

  figures(): CacheFigures {
    return this.#store.figures(this.#storedWritten === 0 ? null : this.#rawWritten / this.#storedWritten)
  }
}
