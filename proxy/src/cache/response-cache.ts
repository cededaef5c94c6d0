import type { CacheFigures } from '../observability/sources.ts'
import { answerFromRecord, type CachedAnswer } from './answer.ts'
import { compileGlob } from './glob.ts'
import type { InvalidationScope, RedisTier } from './redis-tier.ts'
import type { RecordCache, RemovalReason } from './store.ts'

/** What invalidation filters on, kept beside each record so it needs no decoding. */
export interface AnswerMeta {
  readonly provider: string
  readonly model: string
}

export interface Lookup {
  readonly answer: CachedAnswer
  readonly tier: 'l1' | 'l2'
}

export interface InvalidationResult {
  readonly local: number
  /** Entries deleted from Redis; null without Redis, or when Redis could not be reached. */
  readonly shared: number | null
  readonly error?: string
}

export function scopeMatcher(scope: InvalidationScope): (key: string, meta: AnswerMeta) => boolean {
  switch (scope.kind) {
    case 'all':
      return () => true
    case 'provider':
      return (_key, meta) => meta.provider === scope.provider
    case 'pattern': {
      const glob = compileGlob(scope.pattern)
      return (key, meta) => glob.test(meta.model) || glob.test(key)
    }
  }
}

const REASONS: Record<InvalidationScope['kind'], RemovalReason> = {
  all: 'manual',
  provider: 'provider',
  pattern: 'pattern',
}

/**
 * The response cache: an in-process tier (L1, bounded in bytes) in front of an optional shared
 * tier in Redis (L2). A lookup tries L1, then L2 (bounded by the Redis operation timeout); an L2
 * hit is copied into L1 for the rest of its TTL. Stores go to both. Invalidations apply to both
 * and are published to the other instances.
 */
export class ResponseCache {
  readonly l1: RecordCache<CachedAnswer, AnswerMeta>
  readonly l2: RedisTier | undefined
  l2Hits = 0
  l2Lookups = 0
  bypasses = 0
  stores = 0

  constructor(deps: { l1: RecordCache<CachedAnswer, AnswerMeta>; l2?: RedisTier }) {
    this.l1 = deps.l1
    this.l2 = deps.l2
  }

  /** The in-process tier only: synchronous, for the hot path. */
  local(key: string): CachedAnswer | undefined {
    const slot = this.l1.get(key)
    if (slot === undefined) return undefined
    try {
      return this.l1.read(slot, answerFromRecord)
    } catch {
      this.l1.delete(key) // a record this version cannot read
      return undefined
    }
  }

  /** The shared tier, after a local miss. */
  async shared(key: string): Promise<CachedAnswer | undefined> {
    if (!this.l2?.connected) return undefined
    this.l2Lookups++
    const found = await this.l2.get(key)
    if (!found || found.ttlMs <= 0) return undefined
    let answer: CachedAnswer
    try {
      answer = answerFromRecord(this.l1.codec.decode<CachedAnswer>(found.record))
    } catch {
      return undefined
    }
    this.l2Hits++
    const meta = { provider: answer.provider, model: answer.model }
    this.l1.setRecord(key, { record: found.record, rawBytes: found.record.length, meta }, found.ttlMs)
    return answer
  }

  store(key: string, answer: CachedAnswer): void {
    const meta = { provider: answer.provider, model: answer.model }
    const slot = this.l1.set(key, answer, meta)
    this.stores++
    if (this.l2 === undefined) return
    const record = slot?.record ?? this.l1.codec.encode(answer).record
    this.l2.set(key, record, this.l1.ttlMs, answer.provider, answer.model)
  }

  /** Milliseconds before the local entry expires (0: absent). */
  remainingTtl(key: string): number {
    return this.l1.has(key) ? this.l1.remainingTtl(key) : 0
  }

  async invalidate(scope: InvalidationScope): Promise<InvalidationResult> {
    const local = this.dropLocal(scope, REASONS[scope.kind])
    if (this.l2 === undefined) return { local, shared: null }
    try {
      return { local, shared: await this.l2.invalidate(scope) }
    } catch (err) {
      return { local, shared: null, error: `redis: ${(err as Error).message}` }
    }
  }

  dropLocal(scope: InvalidationScope, reason: RemovalReason): number {
    if (scope.kind === 'all') return this.l1.clear(reason)
    return this.l1.deleteWhere(scopeMatcher(scope), reason)
  }

  /** Hits and misses over both tiers (an L1 miss that L2 answers is a hit). */
  figures(): CacheFigures & Record<string, unknown> {
    const l1 = this.l1.figures()
    const hits = l1.hits + this.l2Hits
    const misses = l1.misses - this.l2Hits
    const lookups = hits + misses
    return {
      ...l1,
      hits,
      misses,
      hit_rate: lookups === 0 ? 0 : hits / lookups,
      l1_hits: l1.hits,
      l2_hits: this.l2Hits,
      l2_lookups: this.l2Lookups,
      bypasses: this.bypasses,
      stores: this.stores,
      ttl_seconds: this.l1.ttlMs / 1000,
    }
  }
}
