import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../scenarios/random.ts'
import { binomialTail, compareErrors, ERROR_RULE, type ErrorCounts } from '../error-gate.ts'

const clean = (requests: number, runs = 5): ErrorCounts[] =>
  Array.from({ length: runs }, () => ({ requests, errors: 0 }))

/** A Poisson count of mean `mean` (Knuth's method: the means here are small). */
function poisson(random: () => number, mean: number): number {
  const limit = Math.exp(-mean)
  let k = 0
  for (let p = random(); p > limit; p *= random()) k++
  return k
}

describe('the error gate', () => {
  it("fails a proxy that now fails 1 % of extreme's requests, which its 10 % limit lets pass", () => {
    const v = compareErrors(clean(8100), [{ requests: 8100, errors: 81 }], 0.1)
    expect(v).toMatchObject({
      metric: 'error_rate',
      verdict: 'regressed',
      change_unit: 'points',
      current: 0.01,
    })
    expect(v.interval.low).toBeGreaterThan(0)
    // It sees far less than the limit: about 0.1 percentage point at this size.
    expect(v.detectable_change).toBeLessThan(0.002)
  })

  it('needs five errors in one run against five clean ones (four happen by chance once in 1,296 runs)', () => {
    expect(compareErrors(clean(3000), [{ requests: 3000, errors: 4 }], 0.05).verdict).toBe('unchanged')
    expect(compareErrors(clean(3000), [{ requests: 3000, errors: 5 }], 0.05).verdict).toBe('regressed')
    expect(binomialTail(4, 1 / 6, 4)).toBeCloseTo(1 / 1296, 8)
  })

  it('ignores a significant increase below 0.1 percentage point', () => {
    // 8 errors in 20,000 requests: significant against none in 100,000, but 0.04 percentage point.
    const v = compareErrors(clean(20_000), [{ requests: 20_000, errors: 8 }], 0.1)
    expect(v.change).toBeCloseTo(0.0004, 6)
    expect(v.verdict).toBe('unchanged')
  })

  it('says inconclusive when it could not see less than the seed baseline catches (light: 210 requests)', () => {
    const v = compareErrors(clean(210), [{ requests: 210, errors: 2 }], 0.01)
    expect(v.verdict).toBe('inconclusive')
    expect(v.detectable_change).toBeGreaterThanOrEqual(0.01)
  })

  it('compares errors as rates of their own requests, and judges several current runs together', () => {
    // The baseline failed 0.5 % of its requests: the same rate now is no regression, three times it is.
    const base = clean(1600).map(() => ({ requests: 1600, errors: 8 }))
    expect(
      compareErrors(
        base,
        [
          { requests: 800, errors: 4 },
          { requests: 800, errors: 4 },
        ],
        0.02,
      ).verdict,
    ).toBe('unchanged')
    const worse = compareErrors(
      base,
      [
        { requests: 800, errors: 12 },
        { requests: 800, errors: 12 },
      ],
      0.02,
    )
    expect(worse).toMatchObject({ verdict: 'regressed', runs: { baseline: 5, current: 2 } })
    expect(worse.change).toBeCloseTo(0.01, 6)
  })

  it('calls identical code regressed at most as often as its false-alarm rate says', () => {
    // Both sides fail requests at the same true rate; 20,000 comparisons of five runs against one.
    const random = seededRandom(11)
    for (const [requests, rate] of [
      [3000, 0.002],
      [800, 0.01],
      [8100, 0.0005],
    ] as const) {
      let alarms = 0
      const trials = 20_000
      for (let i = 0; i < trials; i++) {
        const run = () => ({ requests, errors: poisson(random, requests * rate) })
        const base = [run(), run(), run(), run(), run()]
        if (compareErrors(base, [run()], 1).verdict === 'regressed') alarms++
      }
      expect(alarms / trials, `${requests} requests at ${rate}`).toBeLessThanOrEqual(
        ERROR_RULE.falseAlarmRate * 1.5,
      )
    }
  })
})
