import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'

/** A source of uniform numbers in [0, 1). One per mock, seeded; passed to everything that rolls dice. */
export interface Random {
  next(): number
}

class SeededRandom implements Random {
  readonly #generator: RandomGenerator

  constructor(seed: number) {
    this.#generator = xoroshiro128plus(seed | 0)
  }

  next(): number {
    return uniformFloat64(this.#generator)
  }
}

export function createRandom(seed: number): Random {
  return new SeededRandom(seed)
}

const FNV_PRIME = 16777619

/** FNV-1a over UTF-16 code units, continuing from `hash`: derives content seeds from request text. */
export function hashString(text: string, hash = 2166136261): number {
  let h = hash >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, FNV_PRIME)
  }
  return h >>> 0
}

export function hashNumber(value: number, hash = 2166136261): number {
  let h = (hash ^ (value | 0)) >>> 0
  h = Math.imul(h, FNV_PRIME)
  return (h ^ (h >>> 15)) >>> 0
}

/** xorshift32 step: content (text, tool arguments) derives from the request hash alone, not from the mock's dice. */
export function xorshift32(state: number): number {
  let x = state | 0 || 0x9e3779b9
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  return x >>> 0
}
