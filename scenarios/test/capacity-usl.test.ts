// The Universal Scalability Law fit: on synthetic data from known parameters it gives them back.
import { describe, expect, it } from 'vitest'
import { fitUsl, uslConcurrencyAt, uslPeak, uslThroughput } from '../capacity/usl.ts'
import { seededRandom } from '../random.ts'

const noisy = (truth: Parameters<typeof uslThroughput>[0], ns: number[], noise: number, seed = 7) => {
  const random = seededRandom(seed)
  return ns.map((n) => ({ n, x: uslThroughput(truth, n) * (1 + (random() * 2 - 1) * noise) }))
}

describe('USL fit', () => {
  it('recovers sigma, kappa and lambda from exact data', () => {
    const truth = { lambda: 95, sigma: 0.04, kappa: 0.0008 }
    const fit = fitUsl([1, 2, 4, 8, 16, 24, 32, 48, 64].map((n) => ({ n, x: uslThroughput(truth, n) })))!
    expect(fit.lambda).toBeCloseTo(95, 3)
    expect(fit.sigma).toBeCloseTo(0.04, 5)
    expect(fit.kappa).toBeCloseTo(0.0008, 7)
    expect(fit.r2).toBeGreaterThan(0.99999)
    expect(fit.kappaFixed).toBe(false)
  })

  it('recovers them within a few percent from data with 2 % noise, and reports the fit error', () => {
    const truth = { lambda: 0.18, sigma: 0.02, kappa: 0.00002 }
    const fit = fitUsl(noisy(truth, [10, 25, 50, 100, 150, 200, 300, 400, 600], 0.02))!
    expect(fit.lambda / truth.lambda).toBeGreaterThan(0.95)
    expect(fit.lambda / truth.lambda).toBeLessThan(1.05)
    expect(Math.abs(fit.sigma - truth.sigma)).toBeLessThan(0.01)
    expect(fit.kappa / truth.kappa).toBeGreaterThan(0.7)
    expect(fit.kappa / truth.kappa).toBeLessThan(1.3)
    expect(fit.mape).toBeGreaterThan(0)
    expect(fit.mape).toBeLessThan(2)
    expect(fit.rmse).toBeGreaterThan(0)
    const peak = uslPeak(truth)!
    expect(fit.peak!.n! / peak.n!).toBeGreaterThan(0.85)
    expect(fit.peak!.n! / peak.n!).toBeLessThan(1.15)
  })

  it('finds no contention in linear data (a hard limit not yet reached)', () => {
    const fit = fitUsl([10, 20, 40, 60, 100, 150].map((n) => ({ n, x: n / 6 })))!
    expect(fit.lambda).toBeCloseTo(1 / 6, 6)
    expect(fit.sigma).toBeLessThan(1e-6)
    expect(fit.kappa).toBeLessThan(1e-9)
    expect(fit.peak).toBeNull()
  })

  it('holds kappa at 0 with two points (one and two workers) and solves sigma exactly', () => {
    const fit = fitUsl([
      { n: 1, x: 30 },
      { n: 2, x: 48 },
    ])!
    expect(fit.kappaFixed).toBe(true)
    expect(fit.kappa).toBe(0)
    expect(fit.lambda).toBeCloseTo(30, 4)
    // X(2) = 2 lambda / (1 + sigma) -> sigma = 60 / 48 - 1
    expect(fit.sigma).toBeCloseTo(0.25, 4)
    expect(fit.peak).toEqual({ n: null, x: expect.closeTo(120, 2) })
  })

  it('needs at least two points', () => {
    expect(fitUsl([{ n: 5, x: 1 }])).toBeNull()
    expect(fitUsl([])).toBeNull()
  })

  it('inverts the model: the concurrency that carries a rate, and none past the peak', () => {
    const p = { lambda: 2, sigma: 0.05, kappa: 0.001 }
    for (const n of [1, 5, 10, 20]) expect(uslConcurrencyAt(p, uslThroughput(p, n))).toBeCloseTo(n, 6)
    expect(uslConcurrencyAt(p, uslPeak(p)!.x * 1.01)).toBeNull()
    expect(uslConcurrencyAt({ lambda: 0.2, sigma: 0, kappa: 0 }, 10)).toBeCloseTo(50, 9)
  })
})
