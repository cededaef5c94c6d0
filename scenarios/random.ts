// Seeded random sources: every draw in a run (prompt popularity, scenario mix, arrival gaps, think
// times) comes from one of these, so the same seed replays the same sequence of requests.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'

/** A uniform source in [0, 1). */
export type Random = () => number

export function seededRandom(seed: number): Random {
  const generator = xoroshiro128plus(seed | 0)
  return () => uniformFloat64(generator)
}

/**
 * An independent stream for one purpose (e.g. 'arrivals', 'mix'), derived from the run's seed, so
 * that adding draws to one purpose does not shift the sequence of another.
 */
export function streamFor(seed: number, purpose: string): Random {
  let hash = 2166136261
  for (let i = 0; i < purpose.length; i++) hash = Math.imul(hash ^ purpose.charCodeAt(i), 16777619)
  return seededRandom((seed ^ hash) | 0)
}

/** Exponentially distributed value with mean 1 (for Poisson arrivals). */
export function exponential(random: Random): number {
  return -Math.log(1 - random())
}

export function uniformBetween(random: Random, min: number, max: number): number {
  return min + (max - min) * random()
}
