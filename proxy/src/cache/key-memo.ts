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

  /** `space` keeps bodies of different APIs apart (the same bytes can be a request to either). */
  key(raw: Buffer, compute: () => string, space = ''): string {
    if (raw.length === 0 || raw.length > MEMO_MAX_BODY) return compute()
    // latin1: one character a byte, no UTF-8 decoding; only used as a map key.
    const body = raw.toString('latin1')
    return this.#store.getOrSet(space === '' ? body : `${space}\0${body}`, compute)
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
