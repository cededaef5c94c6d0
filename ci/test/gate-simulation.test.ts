// The regression rule's false-alarm and detection rates, measured on seeded synthetic runs of the
// medium tier. Each synthetic run is made of the seconds of a real load:ci medium run
// (fixtures/medium-run.json): second i is drawn from the real run's seconds i-3..i+3 (so the ramp-up
// and the cache warming keep their shape), then the whole run is scaled by a run factor
// exp(noise * N(0, 1)): runs of the same code that differ by `noise` (5 % is what three quiet load:ci
// runs of this machine show, 10-30 % what the synthetic runs used). The gate compares 5
// baseline runs with the 2 current runs load:ci takes of the medium tier.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type Random, seededRandom } from '../../scenarios/random.ts'
import { type BucketSamples, compareRuns, DEFAULT_RULE, ruleFor } from '../gate.ts'

const REAL: number[][] = JSON.parse(
  readFileSync(new URL('./fixtures/medium-run.json', import.meta.url), 'utf8'),
).latency_ms

function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

function syntheticRun(random: Random, noise: number, addMs: number): BucketSamples {
  const factor = Math.exp(noise * gaussian(random))
  return REAL.map((_, i) => {
    const from = Math.max(0, i - 3)
    const to = Math.min(REAL.length - 1, i + 3)
    const second = REAL[from + Math.floor(random() * (to - from + 1))]
    return second.map((ms) => ms * factor + addMs)
  })
}

const BASELINE_RUNS = 5
const CURRENT_RUNS = 2
const rule = ruleFor(95)

/** Share of comparisons called regressed, for current runs slower by addMs per request. */
function regressedShare(seed: number, trials: number, noise: number, addMs: number): number {
  const random = seededRandom(seed)
  let regressed = 0
  for (let i = 0; i < trials; i++) {
    const base = Array.from({ length: BASELINE_RUNS }, () => syntheticRun(random, noise, 0))
    const current = Array.from({ length: CURRENT_RUNS }, () => syntheticRun(random, noise, addMs))
    if (compareRuns(base, current, rule).some((v) => v.verdict === 'regressed')) regressed++
  }
  return regressed / trials
}

describe('regression gate on simulated medium-tier runs', () => {
  it.each([0, 0.05, 0.1, 0.2, 0.3])(
    'raises at most one false alarm in 100 comparisons of identical code (runs differing by %s)',
    (noise) => {
      expect(regressedShare(100 + noise * 100, 1000, noise, 0)).toBeLessThanOrEqual(0.01)
    },
  )

  it.each([0.05, 0.1])(
    'detects a +2 ms per request slowdown at least 90 %% of the time (runs differing by %s)',
    (noise) => {
      expect(regressedShare(7 + noise * 100, 400, noise, 2)).toBeGreaterThanOrEqual(0.9)
    },
  )

  it('states with every verdict the smallest regression it detects; +2 ms at the median is above it', () => {
    const random = seededRandom(3)
    const detectable: number[] = []
    for (let i = 0; i < 51; i++) {
      const base = Array.from({ length: BASELINE_RUNS }, () => syntheticRun(random, 0.05, 0))
      const current = Array.from({ length: CURRENT_RUNS }, () => syntheticRun(random, 0.05, 2))
      const [p50, p95] = compareRuns(base, current, rule)
      expect(p50).toMatchObject({ metric: 'latency_p50_ms', runs: { baseline: 5, current: 2 } })
      expect(p95.metric).toBe('latency_p95_ms')
      detectable.push(p50.detectable_change ?? Number.NaN)
    }
    detectable.sort((a, b) => a - b)
    // +2 ms on the ~2.1 ms median is about +95 %; the rule sees about a third of that.
    expect(detectable[25]).toBeGreaterThan(0.2)
    expect(detectable[25]).toBeLessThan(0.5)
  })

  it('uses the documented false-alarm rate for a tier, shared by its metrics', () => {
    expect(DEFAULT_RULE.falseAlarmRate).toBeLessThanOrEqual(0.01)
    expect(rule.percentiles).toEqual([50, 95])
  })
})
