// The open model's arrival times: a rate that ramps linearly from 0 to `rps` over the ramp-up, then
// stays. Arrivals are generated in "expected arrivals" space (the cumulative rate Lambda(t)), where a
// Poisson process has unit exponential gaps and a constant one has unit gaps, then mapped back to
// time through the inverse of Lambda. Times are intended send times: the engine measures from them.
import { exponential, type Random } from '../random.ts'

export type ArrivalOptions = {
  readonly rps: number
  readonly rampUpS: number
  readonly durationS: number
  readonly process: 'poisson' | 'constant'
  readonly random: Random
}

/** Expected number of arrivals in [0, t] seconds. */
export function cumulativeArrivals(options: Omit<ArrivalOptions, 'process' | 'random'>, t: number): number {
  const { rps, rampUpS } = options
  if (rampUpS <= 0) return rps * t
  if (t <= rampUpS) return (rps * t * t) / (2 * rampUpS)
  return (rps * rampUpS) / 2 + rps * (t - rampUpS)
}

/** Inverse of cumulativeArrivals: the time (s) by which `expected` arrivals are due. */
export function timeOfArrival(options: Omit<ArrivalOptions, 'process' | 'random'>, expected: number): number {
  const { rps, rampUpS } = options
  if (rampUpS <= 0) return expected / rps
  const atRampEnd = (rps * rampUpS) / 2
  if (expected <= atRampEnd) return Math.sqrt((2 * rampUpS * expected) / rps)
  return rampUpS + (expected - atRampEnd) / rps
}

/** Iterator of intended send times in ms from the start; null once the duration is over. */
export function createArrivals(options: ArrivalOptions): { next(): number | null } {
  let expected = 0
  const endS = options.durationS
  return {
    next() {
      expected += options.process === 'poisson' ? exponential(options.random) : 1
      const t = timeOfArrival(options, options.process === 'poisson' ? expected : expected - 0.5)
      return t < endS ? t * 1000 : null
    },
  }
}
