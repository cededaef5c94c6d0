import { describe, expect, it } from 'vitest'
import { type Dist, sample } from '../src/distribution.ts'
import { createRandom } from '../src/random.ts'

function draw(d: Dist, n = 4000, seed = 1): number[] {
  const random = createRandom(seed)
  return Array.from({ length: n }, () => sample(d, random))
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

describe('latency distributions', () => {
  it('fixed returns its value without consuming randomness', () => {
    const random = createRandom(3)
    expect(sample({ dist: 'fixed', value: 20 }, random)).toBe(20)
    expect(random.next()).toBe(createRandom(3).next())
  })

  it('uniform stays in [min, max)', () => {
    const xs = draw({ dist: 'uniform', min: 10, max: 30 })
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(10)
    expect(Math.max(...xs)).toBeLessThan(30)
    expect(median(xs)).toBeGreaterThan(18)
    expect(median(xs)).toBeLessThan(22)
  })

  it('normal centres on its mean and is clamped by min/max', () => {
    const xs = draw({ dist: 'normal', mean: 30, stddev: 5, min: 25, max: 40 })
    expect(median(xs)).toBeGreaterThan(29)
    expect(median(xs)).toBeLessThan(31)
    expect(Math.min(...xs)).toBe(25)
    expect(Math.max(...xs)).toBeLessThanOrEqual(40)
  })

  it('lognormal has its median and a long right side', () => {
    const xs = draw({ dist: 'lognormal', median: 300, sigma: 0.5 })
    expect(median(xs)).toBeGreaterThan(280)
    expect(median(xs)).toBeLessThan(320)
    expect(Math.max(...xs)).toBeGreaterThan(900)
  })

  it('a multiplier tail multiplies about p of the samples', () => {
    const xs = draw({ dist: 'fixed', value: 10, tail: { p: 0.1, multiplier: 5 } })
    const slow = xs.filter((x) => x === 50).length
    expect(xs.every((x) => x === 10 || x === 50)).toBe(true)
    expect(slow / xs.length).toBeGreaterThan(0.08)
    expect(slow / xs.length).toBeLessThan(0.12)
  })

  it('a Pareto tail only slows samples down, some by a lot', () => {
    const xs = draw({ dist: 'fixed', value: 10, tail: { p: 0.2, pareto_alpha: 1.2 } })
    expect(Math.min(...xs)).toBe(10)
    expect(Math.max(...xs)).toBeGreaterThan(100)
  })
})
