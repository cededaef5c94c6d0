import type { CacheFigures, MemoryPressureTarget } from '../observability/sources.ts'
import { BoundedLru } from './bounded-lru.ts'
import { ENTRY_OVERHEAD } from './store.ts'

/** Bodies larger than this are keyed every time (they are rarely repeated byte for byte). */
export const MEMO_MAX_BODY = 8 * 1024

/**
 * Request body bytes -> response cache key. Clients (SDKs, load tests) send the same request as
 * the same bytes, so the canonical form and its sha256 are computed once per distinct body and
 * a repeat costs a map lookup: about a tenth of a cache hit's time. Within one proxy the body
 * decides the route (its model), so the key is a function of the bytes alone. Bounded in bytes.
 *
 * Only bodies whose answer was found in the cache are remembered (`remember`, after a hit): most
 * requests are never repeated, and remembering each of them cost every miss a copy of its body
 * and churned the memo's entries before any was read again.
 */
export class KeyMemo implements MemoryPressureTarget {
  readonly name = 'key_memo'
  readonly #store: BoundedLru<string, string>

  constructor(maxBytes: number) {
    this.#store = new BoundedLru<string, string>({
      maxSize: maxBytes,
      sizeCalculation: (key, body) => body.length + key.length * 2 + ENTRY_OVERHEAD,
    })
  }

  /** The key remembered for these bytes, else `compute()`'s (not remembered). */
  key(raw: Buffer, compute: () => string, space = ''): string {
    const body = memoKey(raw, space)
    return (body === undefined ? undefined : this.#store.lookup(body)) ?? compute()
  }

  /** Remembers the key of a body whose answer the cache had (a repeat is likely). */
  remember(raw: Buffer, key: string, space = ''): void {
    const body = memoKey(raw, space)
    if (body !== undefined && !this.#store.lru.has(body)) this.#store.lru.set(body, key)
  }

  bytes(): number {
    return this.#store.bytes()
  }

  shrink(fraction: number): number {
    return this.#store.shrink(fraction)
  }

  figures(): CacheFigures {
    return this.#store.figures()
  }
}

/** What a body is remembered under; undefined for one too large or empty to be worth it. */
function memoKey(raw: Buffer, space: string): string | undefined {
  if (raw.length === 0 || raw.length > MEMO_MAX_BODY) return undefined
  // latin1: one character a byte, no UTF-8 decoding; only used as a map key.
  const body = raw.toString('latin1')
  return space === '' ? body : `${space}\0${body}`
}
