import { LRUCache } from 'lru-cache'
import { ownedCopy } from './owned.ts'
import { ENTRY_OVERHEAD } from './store.ts'

/** What a tracked key remembers: its decayed access count and the request that fetches it. */
export interface Tracked {
  score: number
  /** The decay epoch `score` was last brought up to date in. */
  epoch: number
  /**
   * The request body as a client sent it (a private copy), to fetch the answer again; kept from
   * the access that makes it `keepFrom` (see PopularityTracker), undefined before.
   */
  readonly request: Buffer | undefined
  readonly stream: boolean
}

export interface PopularEntry {
  readonly key: string
  readonly score: number
  readonly request: Buffer
  readonly stream: boolean
}

/**
 * Access counts per response cache key, for cache warming. Bounded in bytes (least recently
 * accessed keys are forgotten first) and decaying: every `decay()` (once a warming interval)
 * halves all counts, lazily, so popularity follows recent traffic, and a key accessed
 * preload_threshold times in the last interval or so counts as popular.
 *
 * A key's first access only sets its bits in a filter of keys seen (`Sightings`); its entry is
 * made at its second. Most prompts are never repeated: an entry for each (an object kept past
 * young collections, a map slot, and the eviction of another entry, the tracker being full of them)
 * was what counting cost a cache miss, and a stream of new prompts pushed the keys that do come
 * back out of the tracker. With a threshold of 1 the first access makes the entry.
 */
export class PopularityTracker {
  readonly #lru: LRUCache<string, Tracked>
  readonly #keepFrom: number
  /** Keys seen once, this interval and the one before (undefined when the first access keeps). */
  readonly #seen: Sightings | undefined
  #epoch = 0

  /**
   * `keepFrom`: the access of a key at which its request is copied, to be fetched again by the
   * warmer: the second by default (a prompt never repeated, most of them, is counted without a copy
   * of its body, which would outlive young collections for nothing); the first when one access
   * makes a key popular (a threshold of 1); Infinity when nothing is warmed.
   */
  constructor(maxBytes: number, keepFrom = 2) {
    this.#keepFrom = keepFrom
    const budget = Math.max(4096, Math.floor(maxBytes))
    // An eighth of the budget for the filter: 1 MB of the default 8, two generations of 4 million
    // bits, a false positive in a hundred at 400,000 new keys an interval.
    this.#seen = keepFrom <= 1 ? undefined : new Sightings(Math.floor(budget / 8))
    this.#lru = new LRUCache<string, Tracked>({
      maxSize: budget - (this.#seen?.bytes ?? 0),
      sizeCalculation: (t, key) => (t.request?.length ?? 0) + key.length * 2 + ENTRY_OVERHEAD,
    })
  }

  /** Counts one access; `request` is copied at the keepFrom-th (never retained as given). */
  touch(key: string, request: Buffer, stream: boolean): void {
    const t = this.#lru.get(key)
    if (t === undefined) {
      const seen = this.#seen
      if (seen === undefined) {
        this.#lru.set(key, { score: 1, epoch: this.#epoch, request: ownedCopy(request), stream })
        return
      }
      // The first access of this interval and the one before counts 1 and a half.
      const before = seen.sighted(key)
      if (before === 0) return
      const kept = this.#keepFrom <= 2 ? ownedCopy(request) : undefined
      this.#lru.set(key, { score: before + 1, epoch: this.#epoch, request: kept, stream })
      return
    }
    if (t.epoch !== this.#epoch) {
      t.score = t.score / 2 ** (this.#epoch - t.epoch)
      t.epoch = this.#epoch
    }
    t.score += 1
    // A new entry, so that the cache sizes it again with its copy.
    if (t.request === undefined && this.#keepFrom <= 2)
      this.#lru.set(key, { score: t.score, epoch: t.epoch, request: ownedCopy(request), stream: t.stream })
  }

  score(key: string): number {
    const t = this.#lru.peek(key)
    if (t === undefined) return this.#seen?.seen(key) ?? 0
    return t.score / 2 ** (this.#epoch - t.epoch)
  }

  /** Halves every count (lazily: each entry catches up when next read or touched). */
  decay(): void {
    this.#epoch++
    this.#seen?.turn()
  }

  /** Keys with a score of at least `threshold`, most popular first, at most `limit`. */
  popular(threshold: number, limit: number): PopularEntry[] {
    const out: PopularEntry[] = []
    for (const [key, t] of this.#lru.entries()) {
      const score = t.score / 2 ** (this.#epoch - t.epoch)
      if (score >= threshold && t.request !== undefined)
        out.push({ key, score, request: t.request, stream: t.stream })
    }
    out.sort((a, b) => b.score - a.score)
    return out.length > limit ? out.slice(0, limit) : out
  }

  forget(key: string): void {
    this.#lru.delete(key)
  }

  get size(): number {
    return this.#lru.size
  }

  /** The entries' bytes and the filter's. */
  bytes(): number {
    return this.#lru.calculatedSize + (this.#seen?.bytes ?? 0)
  }
}

/**
 * Keys seen, as bits: a blocked Bloom filter (seven bits a key, in one 64-byte block) in two generations,
 * this interval's and the one before. It answers "seen before?" without keeping the key: a key it
 * never saw may, rarely, read as seen (its entry is then made at its first access, counted twice).
 * Allocates nothing a lookup.
 */
class Sightings {
  readonly bytes: number
  #now: Uint32Array
  #before: Uint32Array
  /** Blocks of 16 words, less one (their count is a power of two). */
  readonly #blocks: number

  /** `bytes`: the budget for both generations; each is a power of two of at least 1 KB. */
  constructor(bytes: number) {
    const words = 2 ** Math.max(8, Math.floor(Math.log2(bytes / 8)))
    this.#now = new Uint32Array(words)
    this.#before = new Uint32Array(words)
    this.#blocks = words / 16 - 1
    this.bytes = words * 8
  }

  /**
   * The key's count before this access (1 seen this interval, 0.5 only in the one before, 0
   * never), and the key marked seen now.
   */
  sighted(key: string): number {
    return this.#count(key, true)
  }

  /** What `sighted` would count, without marking the key. */
  seen(key: string): number {
    return this.#count(key, false)
  }

  #count(key: string, mark: boolean): number {
    // The key's characters hashed (FNV-1a, 32 bits), then mixed twice (murmur3's finalizer): one
    // mix picks the key's block of 512 bits (a cache line: one memory read a generation), the
    // other its seven bits in the block, nine bits of it each (rotated by nine: seven windows).
    // Of a long key, its first and last 12 characters: the keys are digests (64 hex characters,
    // any 24 of them random enough), and hashing all of them cost more than the rest of a touch.
    let h = 0x811c9dc5
    const n = key.length
    if (n <= 24) for (let i = 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
    else {
      for (let i = 0; i < 12; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
      for (let i = n - 12; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
      h = Math.imul(h ^ n, 0x01000193)
    }
    const base = (mix(h) & this.#blocks) << 4
    let bits = mix(h ^ 0x9e3779b9)
    const now = this.#now
    const before = this.#before
    let inNow = true
    let inBefore = true
    for (let i = 0; i < HASHES; i++) {
      const word = base + ((bits >>> 5) & 15)
      const flag = 1 << (bits & 31)
      if (((now[word] as number) & flag) === 0) {
        inNow = false
        if (mark) now[word] = (now[word] as number) | flag
      }
      if (((before[word] as number) & flag) === 0) inBefore = false
      bits = (bits >>> 9) | (bits << 23)
    }
    return inNow ? 1 : inBefore ? 0.5 : 0
  }

  /** A new interval: this one's keys become the one before's. */
  turn(): void {
    const old = this.#before
    this.#before = this.#now
    old.fill(0)
    this.#now = old
  }
}

const HASHES = 7

/** murmur3's 32-bit finalizer: every bit of the result depends on every bit of `h`. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
