import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tQuantile from '@stdlib/stats-base-dists-t-quantile'
import { afterEach, describe, expect, it } from 'vitest'
import type { RunSummary } from '../../reports/src/summary.ts'
import { regressionTable } from '../../reports/src/tables.ts'
import { seededRandom } from '../../scenarios/random.ts'
import { EXIT, exitCodeOfAll } from '../../scenarios/run/runner.ts'
import { formatRunTable } from '../../scenarios/run/table.ts'
import { gateRuns, tierRule } from '../apply-gate.ts'
import {
  BaselineError,
  baselineFromRuns,
  readBaseline,
  readBaselines,
  sameSetup,
  writeBaseline,
} from '../baseline-file.ts'
import { formatCiTable } from '../ci-table.ts'
import { ERROR_RULE } from '../error-gate.ts'
import { type BucketSamples, compareRuns, DEFAULT_RULE, percentile, ruleFor } from '../gate.ts'
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

const rule = ruleFor(95)
/** Five baseline runs of the same system, whose runs differ by a few percent. */
const baseline = (seed: number, medianMs = 20, spread = [0.96, 0.98, 1, 1.02, 1.04]) =>
  spread.map((factor, i) => run(seed * 10 + i, medianMs * factor))
const verdicts = (base: readonly BucketSamples[], current: readonly BucketSamples[]) =>
  compareRuns(base, current, rule)
const verdictOf = (base: readonly BucketSamples[], current: readonly BucketSamples[]) =>
  verdicts(base, current).map((v) => v.verdict)

/** One gated run as the CI table shows it. */
const ciRow = (dir: string, summary: RunSummary) => ({
  dir,
  dirs: [dir],
  summary,
  summaries: [summary],
  gateNote: null,
})

describe('regression rule', () => {
  it('flags a real 30 % regression of the median and of p95', () => {
    const [p50, p95] = verdicts(baseline(1), [run(99, 20 * 1.3), run(98, 20 * 1.3)])
    expect(p50).toMatchObject({
      metric: 'latency_p50_ms',
      verdict: 'regressed',
      runs: { baseline: 5, current: 2 },
    })
    expect(p95).toMatchObject({ metric: 'latency_p95_ms', verdict: 'regressed' })
    expect(p95.change).toBeGreaterThan(0.2)
    expect(p95.interval.low).toBeGreaterThan(0)
  })

  it("calls the issue's proxy slowed by 2 ms per request regressed (medium p50 2.0 -> 3.95 ms)", () => {
    const quiet = [0.97, 0.99, 1, 1.01, 1.03].map((f, i) => run(300 + i, 2 * f, 45, 18))
    const slower = [run(310, 2, 45, 18).map((b) => b.map((ms) => ms + 2))]
    expect(verdictOf(quiet, slower)[0]).toBe('regressed')
  })

  it('does not flag another run of the same system, 20 times over', () => {
    const all = Array.from({ length: 20 }, (_, i) => verdictOf(baseline(100 + i), [run(200 + i, 20)]))
    expect(all.flat().filter((v) => v === 'regressed')).toEqual([])
  })

  it('learns the run-to-run noise from the baseline runs: a shift within it is not a regression', () => {
    // Runs of this system on a shared machine differ by up to +-25 %; the current one is 20 % slower.
    const noisy = baseline(3, 20, [0.8, 0.9, 1, 1.1, 1.25])
    expect(verdictOf(noisy, [run(98, 20 * 1.2)])).not.toContain('regressed')
    // Against runs that agree within 1 %, the same shift (taken twice) is a regression.
    const tight = baseline(3, 20, [0.99, 0.995, 1, 1.005, 1.01])
    expect(verdictOf(tight, [run(98, 20 * 1.2), run(97, 20 * 1.2)])).toContain('regressed')
    expect(verdictOf(noisy, [run(98, 20 * 1.2), run(97, 20 * 1.2)])).not.toContain('regressed')
  })

  it('never trusts runs that agree better than the noise floor: identical medians do not make noise vanish', () => {
    const same = run(4, 20)
    const [p50] = verdicts([same, same, same], [run(5, 20 * 1.02)])
    expect(p50.verdict).not.toBe('regressed')
    expect(p50.detectable_change).toBeGreaterThan(DEFAULT_RULE.noiseFloor)
  })

  it('calls a clear speed-up improved', () => {
    expect(verdictOf(baseline(4), [run(97, 20 * 0.6)])).toEqual(['improved', 'improved'])
  })

  it('says inconclusive, not unchanged, when the runs are too noisy to see a regression under +50 %', () => {
    const wild = baseline(5, 20, [0.5, 0.8, 1, 1.4, 2])
    const [p50] = verdicts(wild, [run(6, 20)])
    expect(p50.verdict).toBe('inconclusive')
    expect(p50.detectable_change).toBeGreaterThan(0.5)
  })

  it('ignores a significant change smaller than 0.5 ms (3 ms -> 3.3 ms)', () => {
    const tight = [0.995, 0.998, 1, 1.002, 1.005].map((f, i) => run(400 + i, 3 * f, 45, 400))
    const [p50] = verdicts(tight, [run(410, 3.3, 45, 400), run(411, 3.3, 45, 400)])
    expect(p50.change).toBeGreaterThan(0.05)
    expect(p50.verdict).not.toBe('regressed')
  })

  it('gives the same verdicts for the same runs', () => {
    expect(verdicts(baseline(1), [run(2, 20)])).toEqual(verdicts(baseline(1), [run(2, 20)]))
  })

  it('refuses to judge without three runs in all', () => {
    expect(() => verdicts([run(1, 5)], [run(2, 5)])).toThrow(/three runs/)
  })

  it("compares the median of the proxy's own time: twice the work a request is regressed where the latency hides it", () => {
    // As in a load:ci extreme run: 1.5 ms a request of which the proxy's own 0.25 ms; runs differ by
    // about 10 % in both; ten baseline runs, one current. The proxy doing twice the work (+0.25 ms)
    // moves the latency by 17 %.
    const spread = [0.87, 0.9, 0.93, 0.96, 1].flatMap((f) => [f, 1 / f])
    const base = spread.map((f, i) => run(700 + i, 1.5 * f))
    const own = spread.map((f) => 0.25 * f)
    const judged = compareRuns(base, [run(710, 1.75)], rule, { baseline: own, current: [0.5] })
    // The latency, blind to anything under +50 % at this spread, says so.
    expect(judged.map((v) => [v.metric, v.verdict])).toEqual([
      ['latency_p50_ms', 'inconclusive'],
      ['latency_p95_ms', 'inconclusive'],
      ['proxy_own_p50_ms', 'regressed'],
    ])
    expect(judged[2]).toMatchObject({
      baseline: 0.25,
      current: 0.5,
      change: 1,
      runs: { baseline: 10, current: 1 },
    })
    // Identical code: unchanged, and the three metrics share the false-alarm rate (Bonferroni).
    const same = compareRuns(base, [run(711, 1.5)], rule, { baseline: own, current: [0.25] })
    expect(same.map((v) => v.verdict)).not.toContain('regressed')
    expect(same[0].interval.confidence).toBeCloseTo(1 - (2 * DEFAULT_RULE.falseAlarmRate) / 3, 9)
    // With five baseline runs as noisy, doubling is within what chance could do once in 1,200 runs.
    const five = compareRuns(base.slice(0, 5), [run(710, 1.75)], rule, {
      baseline: own.slice(0, 5),
      current: [0.5],
    })
    expect(five[2]).toMatchObject({ verdict: 'inconclusive' })
    expect(five[2].detectable_change).toBeGreaterThan(1)
  })

  it("ignores an own-time change under 0.05 ms, and compares latency alone without the baseline's own time", () => {
    const spread = [0.99, 0.995, 1, 1.005, 1.01]
    const base = spread.map((f, i) => run(720 + i, 1.5 * f))
    const own = spread.map((f) => 0.2 * f)
    const [, , p50] = compareRuns(base, [run(730, 1.5), run(731, 1.5)], rule, {
      baseline: own,
      current: [0.24, 0.24],
    })
    expect(p50).toMatchObject({ metric: 'proxy_own_p50_ms', change: 0.2 })
    expect(p50.verdict).not.toBe('regressed')
    // Baseline runs recorded before the own time was: the latency is judged as before, nothing else.
    const older = compareRuns(base, [run(730, 1.5)], rule, { baseline: own.map(() => null), current: [0.5] })
    expect(older).toEqual(compareRuns(base, [run(730, 1.5)], rule))
    expect(older.map((v) => v.metric)).toEqual(['latency_p50_ms', 'latency_p95_ms'])
  })

  it("raises false alarms on the proxy's own time at most as often as the rule says", () => {
    // 6,000 comparisons of identical code whose runs differ by 10 % (an extreme tier's own time), ten
    // baseline runs against one; the latency samples are tiny, their verdicts not counted here.
    const random = seededRandom(77)
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
    const tiny = [[1, 2, 3]]
    const draw = () => 0.25 * Math.exp(0.1 * normal())
    let alarms = 0
    const trials = 6000
    for (let i = 0; i < trials; i++) {
      const judged = compareRuns(Array(10).fill(tiny), [tiny], rule, {
        baseline: Array.from({ length: 10 }, draw),
        current: [draw()],
      })
      if (judged[2].verdict === 'regressed') alarms++
    }
    // A third of the tier's 0.25 %: 5 expected in 6,000.
    expect(alarms).toBeLessThanOrEqual(12)
  })

  it('takes nearest-rank percentiles', () => {
    expect(percentile(Float64Array.from([5, 1, 4, 2, 3]), 50)).toBe(3)
    expect(percentile(Float64Array.from([5, 1, 4, 2, 3]), 95)).toBe(5)
    expect(percentile(Float64Array.from(Array.from({ length: 100 }, (_, i) => 100 - i)), 95)).toBe(95)
  })

  it("uses Student's t quantiles for a handful of runs", () => {
    expect(tQuantile(0.995, 2)).toBeCloseTo(9.925, 3)
    expect(tQuantile(0.975, 10)).toBeCloseTo(2.228, 3)
    expect(tQuantile(0.9, 4)).toBeCloseTo(1.533, 3)
    expect(tQuantile(0.5, 7)).toBeCloseTo(0, 6)
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

  it("keep each kind of machine's baseline: another machine's goes beside the first, not over it", () => {
    dir = mkdtempSync(join(tmpdir(), 'baselines-'))
    const on = (cpu_model: string, p95: number) => {
      const summary = passedRun()
      summary.environment = { ...summary.environment, cpu_model }
      summary.baselines = summary.baselines.map((b) =>
        b.metric === 'latency_p95_ms' ? { ...b, actual: p95 } : b,
      )
      return baselineFromRuns([{ summary, samples: { bucket_s: 1, latency_ms: [[p95]] } }])
    }
    expect(writeBaseline(on('AMD EPYC', 10), dir)).toBe(join(dir, 'light.json'))
    expect(writeBaseline(on('Intel(R) Xeon(R) Processor', 14), dir)).toBe(
      join(dir, 'machines', 'intel-r-xeon-r-processor-2cpu-node-v24-21-0', 'light.json'),
    )
    // Taken again on the first machine: it replaces that machine's file only.
    writeBaseline(on('AMD EPYC', 11), dir)
    const all = readBaselines('light', dir)
    expect(all.map((b) => [b.name, b.baseline.environment.cpu_model, b.baseline.runs[0].latency_ms])).toEqual(
      [
        ['light.json', 'AMD EPYC', 11],
        ['machines/intel-r-xeon-r-processor-2cpu-node-v24-21-0/light.json', 'Intel(R) Xeon(R) Processor', 14],
      ],
    )
    expect(readBaselines('heavy', dir)).toEqual([])
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

  it('refuse a file of another version by name, with the command that replaces it', () => {
    dir = mkdtempSync(join(tmpdir(), 'baselines-'))
    writeFileSync(join(dir, 'light.json'), JSON.stringify({ schema_version: 1, tier: 'light', runs: [] }))
    expect(() => readBaseline('light', dir)).toThrow(BaselineError)
    expect(() => readBaseline('light', dir)).toThrow(/schema version 1, this gate reads 2: .*baseline:update/)
  })
})

describe('gating the runs of a tier', () => {
  let dir: string
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  /** A finished run directory: its summary and its samples. */
  function runDir(name: string, latency: number[][], patch: Partial<RunSummary> = {}): string {
    const at = join(dir, name)
    mkdirSync(at, { recursive: true })
    writeFileSync(join(at, 'summary.json'), JSON.stringify({ ...passedRun(), ...patch }))
    writeFileSync(join(at, 'samples.json'), JSON.stringify({ bucket_s: 1, latency_ms: latency }))
    return at
  }
  const reference = () =>
    baselineFromRuns(
      [0.97, 0.99, 1, 1.01, 1.03].map((f, i) => ({
        summary: passedRun(),
        samples: { bucket_s: 1, latency_ms: run(500 + i, 20 * f) },
      })),
    )

  it('judges all runs of the tier together and fails each one on a regression', () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const dirs = [runDir('light', run(600, 30)), runDir('light-2', run(601, 30))]
    const outcomes = gateRuns(dirs, reference())
    for (const { summary, skippedReason } of outcomes) {
      expect(skippedReason).toBeNull()
      expect(summary.status).toBe('failed')
      expect(summary.regression?.verdicts.map((v) => [v.metric, v.verdict, v.runs])).toEqual([
        ['latency_p50_ms', 'regressed', { baseline: 5, current: 2 }],
        ['latency_p95_ms', 'regressed', { baseline: 5, current: 2 }],
        ['error_rate', 'inconclusive', { baseline: 5, current: 2 }],
      ])
      expect(summary.regression?.false_alarm_rate).toBe(
        DEFAULT_RULE.falseAlarmRate + ERROR_RULE.falseAlarmRate,
      )
    }
    expect(JSON.parse(readFileSync(join(dirs[1], 'summary.json'), 'utf8')).status).toBe('failed')
  })

  it("fails a run whose latency held but whose errors rose beyond chance, under the tier's error limit", () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const loose = { ...passedRun().tier, error_rate_max: 0.1 }
    const failing = runDir('light', run(600, 20), {
      tier: loose,
      totals: { requests: 200, errors: 10, error_rate: 0.05, rps: 4.44 },
    })
    const [outcome] = gateRuns([failing], reference())
    expect(outcome.summary.regression?.verdicts.map((v) => [v.metric, v.verdict])).toEqual([
      ['latency_p50_ms', 'unchanged'],
      ['latency_p95_ms', 'unchanged'],
      ['error_rate', 'regressed'],
    ])
    expect(outcome.summary.status).toBe('failed')
    expect(outcome.summary.status_reason).toBe(
      'error_rate regressed +5.00 pp against ci/baselines/light.json',
    )
    // Every view shows the change of a rate in percentage points, not as a relative change.
    expect(formatCiTable([ciRow(failing, outcome.summary)])).toMatch(
      /error_rate \+5\.00 pp \[\+[\d.]+ pp, \+[\d.]+ pp, sees \+[\d.]+ pp\] regressed/,
    )
    expect(formatRunTable(outcome.summary)).toMatch(/regression error_rate vs 0\.00 % +\+5\.00 pp/)
    expect(regressionTable(outcome.summary)).toContain('+5.00 pp')
    // Two errors of 200 are within chance of five clean runs: not blamed.
    const chance = runDir('light-2', run(601, 20), {
      tier: loose,
      totals: { requests: 200, errors: 2, error_rate: 0.01, rps: 4.44 },
    })
    expect(gateRuns([chance], reference())[0].summary.status).toBe('passed')
  })

  it("fails a run whose proxy doubled its own time while the latency stayed inside the runs' spread", () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const timing = (p50: number) => ({
      totals: {
        ...passedRun().totals,
        server_timing: {
          requests: 200,
          proxy_ms: { p50, p90: p50 * 2, p95: p50 * 3, p99: p50 * 4, mean: p50 },
        },
      },
    })
    const spread = [0.87, 0.9, 0.93, 0.96, 1].flatMap((f) => [f, 1 / f])
    const recorded = baselineFromRuns(
      spread.map((f, i) => ({
        summary: { ...passedRun(), ...timing(0.25 * f) },
        samples: { bucket_s: 1, latency_ms: run(500 + i, 20 * f) },
      })),
    )
    expect(recorded.runs.map((r) => r.proxy_own_p50_ms)).toEqual(spread.map((f) => 0.25 * f))
    // The proxy slowed on purpose (load:ci --proxy-node-flags), as the reference says.
    const flags = ['--no-turbofan', '--no-maglev']
    const slower = runDir('light', run(600, 22), {
      ...timing(0.5),
      run: { ...passedRun().run, proxy_node_flags: flags },
    })
    const [outcome] = gateRuns([slower], recorded)
    expect(outcome.summary.regression?.reference.name).toBe(
      'ci/baselines/light.json (10 runs); the proxy started with node --no-turbofan --no-maglev (an experiment)',
    )
    expect(outcome.summary.regression?.verdicts.map((v) => [v.metric, v.verdict])).toEqual([
      ['latency_p50_ms', 'inconclusive'],
      ['latency_p95_ms', 'inconclusive'],
      ['proxy_own_p50_ms', 'regressed'],
      ['error_rate', 'inconclusive'],
    ])
    expect(outcome.summary.status).toBe('failed')
    expect(outcome.summary.status_reason).toBe(
      'proxy_own_p50_ms regressed +100.0 % against ci/baselines/light.json',
    )
    expect(outcome.summary.regression?.method).toMatch(/median of the proxy's own time \(Server-Timing\)/)
    expect(formatCiTable([ciRow(slower, outcome.summary)])).toMatch(
      /own p50 \+100\.0 % \[\+[\d.]+ %, \+[\d.]+ %, sees \+[\d.]+ %\] regressed/,
    )
    expect(formatRunTable(outcome.summary)).toMatch(/proxy_own_p50_ms/)
    // The same run with its own time within the baseline's: passed; against a baseline without it,
    // the latency and the errors alone.
    expect(gateRuns([runDir('light-2', run(601, 20), timing(0.26))], recorded)[0].summary.status).toBe(
      'passed',
    )
    const again = runDir('light-3', run(600, 22), timing(0.5))
    expect(gateRuns([again], reference())[0].summary.regression?.verdicts).toHaveLength(3)
  })

  it('never blames the target for a regression measured by a generator that may have been the limit', () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const limited = {
      status: 'inconclusive' as const,
      generator: { achieved_rps: 5, limited: true, reasons: ['its CPU was 95 % of a core'] },
    }
    const [outcome] = gateRuns([runDir('light', run(600, 30), limited)], reference())
    expect(outcome.summary.regression?.verdicts[0].verdict).toBe('regressed')
    expect(outcome.summary.status).toBe('inconclusive')
  })

  it('does not compare a run on another kind of machine with the baseline, and says why', () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const elsewhere = runDir('light', run(600, 30), {
      environment: { ...passedRun().environment, cpu_model: 'Intel(R) Xeon(R) Processor' },
    })
    const [outcome] = gateRuns([elsewhere], reference(), { allowProfileChange: true })
    expect(outcome.skippedReason).toMatch(
      /^not comparable: baseline taken on .+ \(\d+ CPUs, node v[\d.]+\), this run on Intel\(R\) Xeon\(R\) Processor \(\d+ CPUs, node v[\d.]+\)/,
    )
    expect(outcome.summary.status).toBe('passed')
    expect(outcome.summary.regression).toBeUndefined()
    // The same run on the baseline's machine is judged: 50 % slower, regressed.
    expect(gateRuns([runDir('light-2', run(600, 30))], reference())[0].summary.status).toBe('failed')
  })

  it('writes why a run was not gated into its summary.json and report.html, and keeps its status', () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const intel = { ...passedRun().environment, cpu_model: 'Intel(R) Xeon(R) Processor' }
    const elsewhere = runDir('light', run(600, 20), { environment: intel })
    const [outcome] = gateRuns([elsewhere], reference())
    const written = JSON.parse(readFileSync(join(elsewhere, 'summary.json'), 'utf8'))
    expect(written.status).toBe('passed')
    expect(written.regression_skipped).toEqual({ reason: outcome.skippedReason, required: false })
    const report = readFileSync(join(elsewhere, 'report.html'), 'utf8')
    expect(report).toMatch(
      /id="not-gated">Not gated against a baseline: not comparable: baseline taken on test cpu .*this run on Intel\(R\) Xeon\(R\) Processor/,
    )
    expect(report).toContain('<section id="regression"')
    // No baseline at all, the same.
    const [none] = gateRuns([runDir('light-2', run(601, 20))], [])
    expect(none.summary.status).toBe('passed')
    expect(none.summary.regression_skipped?.reason).toMatch(/^no baseline \(ci\/baselines\/light\.json\)/)
  })

  it('with requireGate (load:ci --require-gate), a run the gate could not judge is inconclusive: exit 3', () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const intel = { ...passedRun().environment, cpu_model: 'Intel(R) Xeon(R) Processor' }
    const dirs = [runDir('medium', run(600, 20), { environment: intel }), runDir('medium-2', run(601, 20))]
    const outcomes = gateRuns(dirs, reference(), { requireGate: true })
    for (const [i, { summary }] of outcomes.entries()) {
      expect(summary.status).toBe('inconclusive')
      expect(summary.status_reason).toMatch(
        /^not gated against a baseline \(not comparable: .*--require-gate/,
      )
      expect(summary.regression_skipped?.required).toBe(true)
      expect(JSON.parse(readFileSync(join(dirs[i], 'summary.json'), 'utf8')).status).toBe('inconclusive')
    }
    expect(exitCodeOfAll(outcomes.map((o) => o.summary.status))).toBe(EXIT.inconclusive)
    // A run that failed a seed baseline stays failed: that is the finding.
    const failing = passedRun()
    failing.baselines[0] = { ...failing.baselines[0], actual: 250, passed: false, margin: -0.25 }
    const failed = runDir('light', run(600, 20), { ...failing, status: 'failed', environment: intel })
    expect(gateRuns([failed], reference(), { requireGate: true })[0].summary.status).toBe('failed')
    // A gate that ran leaves a passing run passed.
    expect(
      gateRuns([runDir('light-2', run(601, 20))], reference(), { requireGate: true })[0].summary.status,
    ).toBe('passed')
  })

  it("judges a run against its own kind of machine's baseline, among several", () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const intel = { ...passedRun().environment, cpu_model: 'Intel(R) Xeon(R) Processor' }
    // The Intel machine is slower: its baseline runs read 30 ms where the first machine's read 20.
    const intelReference = baselineFromRuns(
      [0.97, 0.99, 1, 1.01, 1.03].map((f, i) => ({
        summary: { ...passedRun(), environment: intel },
        samples: { bucket_s: 1, latency_ms: run(700 + i, 30 * f) },
      })),
    )
    const both = [
      { name: 'light.json', baseline: reference() },
      { name: 'machines/intel/light.json', baseline: intelReference },
    ]
    // 30 ms on the Intel machine is its usual: unchanged; on the first machine it is a regression.
    const [onIntel] = gateRuns([runDir('light', run(600, 30), { environment: intel })], both)
    expect(onIntel.summary.status).toBe('passed')
    expect(onIntel.summary.regression?.reference.name).toMatch(
      /^ci\/baselines\/machines\/intel\/light\.json \(5 runs\)/,
    )
    const [onFirst] = gateRuns([runDir('light-2', run(600, 30))], both)
    expect(onFirst.summary.status_reason).toMatch(
      /latency_p50_ms regressed \+[\d.]+ % against ci\/baselines\/light\.json/,
    )
    // A third kind of machine has none: not compared, and told how to add its own.
    const elsewhere = { ...passedRun().environment, cpu_model: 'Ampere Altra' }
    const [other] = gateRuns([runDir('light-3', run(600, 30), { environment: elsewhere })], both)
    expect(other.skippedReason).toMatch(
      /^not comparable: baseline taken on test cpu \(2 CPUs, node v24\.21\.0\), Intel\(R\) Xeon\(R\) Processor \(2 CPUs, node v24\.21\.0\), this run on Ampere Altra .*adds its own/,
    )
  })

  it("assumes the noise a tier asks for: light's requests wake an idle machine, whose moods outlast a baseline's hour", () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    // Ten baseline runs that agreed within 6 % (light p50 6.2-7.6 ms), then identical code 35 % slower
    // in a slower hour of the machine.
    const spread = [0.93, 0.95, 0.97, 0.99, 1].flatMap((f) => [f, 1 / f])
    const together = baselineFromRuns(
      spread.map((f, i) => ({
        summary: passedRun(),
        samples: { bucket_s: 1, latency_ms: run(800 + i, 6.9 * f) },
      })),
    )
    const [byDefault] = gateRuns([runDir('light', run(810, 6.9 * 1.35))], together)
    expect(byDefault.summary.regression?.verdicts[0]).toMatchObject({
      metric: 'latency_p50_ms',
      verdict: 'regressed',
    })
    expect(tierRule('light')).toEqual({ noiseFloor: 0.25 })
    expect(tierRule('extreme')).toEqual({})
    const [light] = gateRuns([runDir('light-2', run(810, 6.9 * 1.35))], together, { rule: tierRule('light') })
    expect(light.summary.status).toBe('passed')
    // Blind to less than +50 %, and it says so.
    expect(light.summary.regression?.verdicts[0]).toMatchObject({ verdict: 'inconclusive' })
    expect(light.summary.regression?.verdicts[0].detectable_change).toBeGreaterThan(1)
  })

  it('compares a run only with a baseline whose proxy took the same settings from the environment', () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    // The tests' REDIS_URL reached the proxy of a load:ci run: a Redis call on every cache miss.
    const withRedis = { run: { ...passedRun().run, proxy_env: { REDIS_URL: '(set)' } } }
    const [outcome] = gateRuns([runDir('light', run(600, 20), withRedis)], reference())
    expect(outcome.skippedReason).toBe(
      "not comparable: the baseline's proxy took none from the environment, this run's REDIS_URL=(set)",
    )
    expect(outcome.summary.regression).toBeUndefined()
    // A baseline taken the same way compares it.
    const redisBaseline = baselineFromRuns(
      [0.97, 0.99, 1, 1.01, 1.03].map((f, i) => ({
        summary: { ...passedRun(), ...withRedis },
        samples: { bucket_s: 1, latency_ms: run(500 + i, 20 * f) },
      })),
    )
    expect(redisBaseline.proxy_env).toEqual({ REDIS_URL: '(set)' })
    const [same] = gateRuns([runDir('light-2', run(601, 20), withRedis)], redisBaseline)
    expect(same.skippedReason).toBeNull()
    expect(sameSetup(passedRun(), { ...passedRun(), ...withRedis })).toBe(false)
  })

  it('compares runs of another mock profile only when asked to (an injected regression)', () => {
    dir = mkdtempSync(join(tmpdir(), 'gate-'))
    const slower = runDir('light', run(600, 22), {
      run: { ...passedRun().run, mock_profile: 'ci/profiles/baseline-plus-2ms.yaml' },
    })
    expect(gateRuns([slower], reference())[0].skippedReason).toMatch(/not comparable: .*mock_profile/)
    const [outcome] = gateRuns([slower], reference(), { allowProfileChange: true })
    expect(outcome.skippedReason).toBeNull()
    expect(outcome.summary.regression?.reference.name).toMatch(
      /mock profile ci\/profiles\/baseline-plus-2ms\.yaml/,
    )
  })
})

describe('load:ci table', () => {
  it('shows each tier against its limits and the regression verdict', () => {
    const table = formatCiTable([
      { dir: '/x', dirs: ['/x'], summary: passedRun(), summaries: [passedRun()], gateNote: 'no baseline' },
    ])
    expect(table.split('\n')[0]).toMatch(/^tier +status +p95 ms \(limit\)/)
    expect(table).toMatch(/light \(x0\.15\) +passed +12\.30 \(<200\)/)
    expect(table).toContain('no baseline')
  })
})
