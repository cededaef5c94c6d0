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
 */
export class PopularityTracker {
  readonly #lru: LRUCache<string, Tracked>
  readonly #keepFrom: number
  #epoch = 0

  /**
   * `keepFrom`: the access of a key at which its request is copied, to be fetched again by the
   * warmer: the second by default (a prompt never repeated, most of them, is counted without a copy
   * of its body, which would outlive young collections for nothing); the first when one access
   * makes a key popular (a threshold of 1); Infinity when nothing is warmed.
   */
  constructor(maxBytes: number, keepFrom = 2) {
    this.#keepFrom = keepFrom
    this.#lru = new LRUCache<string, Tracked>({
      maxSize: Math.max(4096, Math.floor(maxBytes)),
      sizeCalculation: (t, key) => (t.request?.length ?? 0) + key.length * 2 + ENTRY_OVERHEAD,
    })
  }

  /** Counts one access; `request` is copied at the keepFrom-th (never retained as given). */
  touch(key: string, request: Buffer, stream: boolean): void {
    const t = this.#lru.get(key)
    if (t === undefined) {
      const kept = this.#keepFrom <= 1 ? ownedCopy(request) : undefined
      this.#lru.set(key, { score: 1, epoch: this.#epoch, request: kept, stream })
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
    return t === undefined ? 0 : t.score / 2 ** (this.#epoch - t.epoch)
  }

  /** Halves every count (lazily: each entry catches up when next read or touched). */
  decay(): void {
    this.#epoch++
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

  bytes(): number {
    return this.#lru.calculatedSize
  }
}
