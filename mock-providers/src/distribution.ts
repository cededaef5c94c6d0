import type { Random } from './random.ts'

export type DistName = 'fixed' | 'uniform' | 'normal' | 'lognormal'

/**
 * Heavy tail, applied after the body of the distribution: with probability `p` the sample is
 * multiplied, either by the fixed `multiplier` or, when `pareto_alpha` is given, by a Pareto(alpha)
 * draw with scale 1 (so most tail samples are a little slower and a few are much slower).
 */
export interface Tail {
  p: number
  multiplier?: number
  pareto_alpha?: number
}

/** A latency distribution in milliseconds. `min`/`max` bound normal and lognormal samples, tail included. */
export interface Dist {
  dist: DistName
  value?: number
  min?: number
  max?: number
  mean?: number
  stddev?: number
  median?: number
  sigma?: number
  tail?: Tail
}

/** True when sampling never consumes randomness and always returns `value`. */
export function isConstant(d: Dist): boolean {
  return d.dist === 'fixed' && d.tail === undefined
}

/** Box-Muller; always consumes two numbers so the sequence of draws depends on the profile only. */
function standardNormal(random: Random): number {
  const u1 = random.next()
  const u2 = random.next()
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2)
}

function body(d: Dist, random: Random): number {
  switch (d.dist) {
    case 'fixed':
      return d.value ?? 0
    case 'uniform': {
      const min = d.min ?? 0
      return min + random.next() * ((d.max ?? min) - min)
    }
    case 'normal':
      return (d.mean ?? 0) + (d.stddev ?? 0) * standardNormal(random)
    case 'lognormal':
      return (d.median ?? 0) * Math.exp((d.sigma ?? 0) * standardNormal(random))
  }
}

function tailFactor(tail: Tail, random: Random): number {
  if (random.next() >= tail.p) return 1
  if (tail.pareto_alpha !== undefined) return (1 - random.next()) ** (-1 / tail.pareto_alpha)
  return tail.multiplier ?? 1
}

/** One sample in ms, never negative. */
export function sample(d: Dist, random: Random): number {
  if (d.dist === 'fixed' && d.tail === undefined) return d.value ?? 0
  let value = body(d, random)
  if (d.tail !== undefined) value *= tailFactor(d.tail, random)
  if (d.dist !== 'uniform') {
    if (d.min !== undefined && value < d.min) value = d.min
    if (d.max !== undefined && value > d.max) value = d.max
  }
  return Math.max(value, 0)
}
