// The regression rule's false-alarm and detection rates, measured on seeded synthetic runs of the
// medium tier (ci/gate-simulation.ts: the seconds of a real load:ci medium run, each run scaled by its
// own factor). The gate compares 5 baseline runs with the 2 current runs load:ci takes of the medium
// tier. `node ci/gate-simulation.ts` prints the same rates as a table.
import { describe, expect, it } from 'vitest'
import { DEFAULT_RULE, ruleFor } from '../gate.ts'
import { simulate } from '../gate-simulation.ts'

describe('regression gate on simulated medium-tier runs', () => {
  it.each([0, 0.05, 0.1, 0.2, 0.3])(
    'raises at most one false alarm in 100 comparisons of identical code (runs differing by %s)',
    (noise) => {
      expect(
        simulate({ seed: 100 + noise * 100, comparisons: 1000, noise, addMs: 0 }).regressed,
      ).toBeLessThanOrEqual(0.01)
    },
  )

  it.each([0.05, 0.1])(
    'detects a +2 ms per request slowdown at least 90 %% of the time (runs differing by %s)',
    (noise) => {
      expect(
        simulate({ seed: 7 + noise * 100, comparisons: 400, noise, addMs: 2 }).regressed,
      ).toBeGreaterThanOrEqual(0.9)
    },
  )

  it('states with every verdict the smallest regression it detects; +2 ms at the median is above it', () => {
    // +2 ms on the ~2.1 ms median is about +95 %; at 5 % run-to-run noise the rule sees about a third of that.
    const { detectableP50 } = simulate({ seed: 3, comparisons: 51, noise: 0.05, addMs: 2 })
    expect(detectableP50).toBeGreaterThan(0.2)
    expect(detectableP50).toBeLessThan(0.5)
  })

  it('uses the documented false-alarm rate for a tier, shared by its metrics', () => {
    expect(DEFAULT_RULE.falseAlarmRate).toBeLessThanOrEqual(0.01)
    expect(ruleFor(95).percentiles).toEqual([50, 95])
  })
})
