import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { seededRandom } from '../../scenarios/random.ts'
import { baselineFromRuns, readBaseline, writeBaseline } from '../baseline-file.ts'
import { formatCiTable } from '../ci-table.ts'
import { type BucketSamples, compareLatency, DEFAULT_RULE, percentile } from '../gate.ts'
import { passedRun } from './run-fixture.ts'

/**
 * One synthetic run: latencies by 1 s bucket, log-normal requests around `medianMs`, and a factor per
 * bucket that moves a whole second up or down together (GC pauses, noisy neighbours). 45 buckets of
 * 80 requests: a load:ci run of the heavy tier (80 req/s for 45 s).
 */
function run(seed: number, medianMs: number, buckets = 45, perBucket = 80): number[][] {
  const random = seededRandom(seed)
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  return Array.from({ length: buckets }, () => {
    const bucketFactor = Math.exp(0.1 * normal())
    return Array.from({ length: perBucket }, () => medianMs * bucketFactor * Math.exp(0.5 * normal()))
  })
}

const rule = { ...DEFAULT_RULE, resamples: 1000 }
/** Three baseline runs of the same system, whose runs differ by a few percent. */
const baseline = (seed: number, medianMs = 20, spread = [0.97, 1, 1.03]) =>
  spread.map((factor, i) => run(seed * 10 + i, medianMs * factor))
const verdictOf = (base: readonly BucketSamples[], current: BucketSamples, seed = 1) =>
  compareLatency(base, current, rule, seededRandom(seed))

describe('regression rule', () => {
  it('flags a real 30 % regression of p95', () => {
    const verdict = verdictOf(baseline(1), run(99, 20 * 1.3))
    expect(verdict.metric).toBe('latency_p95_ms')
    expect(verdict.verdict).toBe('regressed')
    expect(verdict.change).toBeGreaterThan(0.2)
    expect(verdict.interval.low).toBeGreaterThan(DEFAULT_RULE.tolerance)
  })

  it('does not flag pure noise: another run of the same system, 20 times over', () => {
    const verdicts = Array.from({ length: 20 }, (_, i) => verdictOf(baseline(100 + i), run(200 + i, 20), i))
    expect(verdicts.filter((v) => v.verdict === 'regressed' || v.verdict === 'improved')).toEqual([])
    // A 95 % interval covers the true change (0) about 19 times in 20.
    expect(verdicts.filter((v) => v.interval.low <= 0 && v.interval.high >= 0).length).toBeGreaterThanOrEqual(
      17,
    )
  })

  it('learns the run-to-run noise from the baseline runs: a shift within it is not a regression', () => {
    // Runs of this system on a shared machine differ by up to +-25 %; the current one is 20 % slower.
    const noisy = baseline(3, 20, [0.8, 1, 1.25])
    expect(verdictOf(noisy, run(98, 20 * 1.2)).verdict).not.toBe('regressed')
    // The same current run against only the fastest baseline run would have been called a regression.
    expect(verdictOf([noisy[0]], run(98, 20 * 1.2)).verdict).toBe('regressed')
  })

  it('calls a clear speed-up improved', () => {
    expect(verdictOf(baseline(4), run(97, 20 * 0.6)).verdict).toBe('improved')
  })

  it('says inconclusive, not regressed, when a few seconds are too noisy to tell', () => {
    const verdict = verdictOf([run(5, 20, 4, 5)], run(6, 20 * 1.2, 4, 5))
    expect(verdict.verdict).toBe('inconclusive')
    expect(verdict.interval.high - verdict.interval.low).toBeGreaterThan(0.3)
  })

  it('ignores a change below the absolute floor on a small latency (3 ms -> 4 ms)', () => {
    const verdict = verdictOf(baseline(7, 3), run(8, 4))
    expect(verdict.change).toBeGreaterThan(0.2)
    expect(verdict.verdict).not.toBe('regressed')
  })

  it('replays the same verdict for the same seed', () => {
    expect(verdictOf(baseline(1), run(2, 20), 4)).toEqual(verdictOf(baseline(1), run(2, 20), 4))
  })

  it('refuses to judge from fewer than two seconds of samples', () => {
    expect(() => verdictOf([[[1, 2, 3]]], run(1, 5))).toThrow(/at least 2/)
  })

  it('takes nearest-rank percentiles', () => {
    expect(percentile(Float64Array.from([5, 1, 4, 2, 3]), 50)).toBe(3)
    expect(percentile(Float64Array.from([5, 1, 4, 2, 3]), 95)).toBe(5)
    expect(percentile(Float64Array.from(Array.from({ length: 100 }, (_, i) => 100 - i)), 95)).toBe(95)
  })
})

describe('baseline files', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('round-trip runs into ci/baselines/<tier>.json and back', () => {
    dir = mkdtempSync(join(tmpdir(), 'baselines-'))
    const latency = run(1, 10, 3, 4)
    const file = writeBaseline(
      baselineFromRuns([
        { summary: passedRun(), samples: { bucket_s: 1, latency_ms: latency } },
        { summary: passedRun(), samples: { bucket_s: 1, latency_ms: [[1], [2]] } },
      ]),
      dir,
    )
    expect(file).toBe(join(dir, 'light.json'))
    const back = readBaseline('light', dir)!
    expect(back).toMatchObject({
      tier: 'light',
      engine: 'native',
      load_model: 'open',
      latency_percentile: 95,
    })
    expect(back.runs).toHaveLength(2)
    expect(back.runs[0]).toMatchObject({ latency_ms: 12.3, rps: 5, samples_ms: latency })
    expect(readBaseline('heavy', dir)).toBeNull()
  })

  it('reject a file that lost a field', () => {
    dir = mkdtempSync(join(tmpdir(), 'baselines-'))
    writeBaseline(
      baselineFromRuns([{ summary: passedRun(), samples: { bucket_s: 1, latency_ms: [[1], [2]] } }]),
      dir,
    )
    const file = join(dir, 'light.json')
    const broken = JSON.parse(readFileSync(file, 'utf8'))
    delete broken.engine
    writeFileSync(file, JSON.stringify(broken))
    expect(() => readBaseline('light', dir)).toThrow(/engine/)
  })
})

describe('load:ci table', () => {
  it('shows each tier against its limits and the regression verdict', () => {
    const table = formatCiTable([{ dir: '/x', summary: passedRun(), gateNote: 'no baseline' }])
    expect(table.split('\n')[0]).toMatch(/^tier +status +p95 ms \(limit\)/)
    expect(table).toMatch(/light \(x0\.15\) +passed +12\.30 \(<200\)/)
    expect(table).toContain('no baseline')
  })
})
