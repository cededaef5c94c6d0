// The regression rule of the CI gate: runs, not requests, are the unit of evidence.
//
// Two runs of the same code on the same machine differ, and by more than the requests inside one run
// suggest: another job starts, the JIT takes another path, the cache warms in another order. A rule
// that resamples the requests (or the seconds) of a single current run leaves that run-to-run variance
// out, and calls noise a regression. So each run is reduced to one number per metric, the log of its
// percentile (p50 and the tier's p95), and the current runs are compared with the baseline runs by a
// one-sided t-test on those numbers:
//
//   d  = mean(log current) - mean(log baseline)           the change, as a log ratio
//   s  = pooled standard deviation of the runs' logs       the run-to-run noise, from the baseline runs
//        (and the current ones when there are several), never below `noiseFloor`
//   SE = s * sqrt(1/K + 1/M)                               K baseline runs, M current runs
//   regressed when d / SE > t(1 - alpha / metrics, K + M - 2) and the change is at least
//   max(minChange, minChangeMs): significant AND large enough to matter.
//
// The noise of the current side is modelled by the baseline runs' spread (runs of the same setup),
// plus its own spread when it has several runs. The t quantile pays for estimating that noise from a
// few runs; the floor keeps runs that agree by chance (identical medians) from making any change look
// significant. alpha is shared by the metrics of one comparison (Bonferroni), so a tier's false-alarm
// rate on identical code is at most alpha. The smallest regression each comparison detects (90 % of the
// time) is (t(1 - alpha / metrics) + t(power)) * SE, and is reported with every verdict.
// ci/test/gate-simulation.test.ts measures both rates on seeded synthetic runs.
//
// The same rule compares the proxy's own time (Server-Timing `proxy;dur`: its time a request minus the
// providers' and the waits between attempts), when both sides recorded it. At the tiers' rates the
// latency a client sees is mostly the machine's (the generator, loopback, waking idle cores: medium's
// cache hits take 2.7 ms of which the proxy's own 0.55), so a proxy that does twice the work a request
// moves the median 10 to 20 %, inside the runs' spread; its own time moves 100 %, and varies from run to
// run about as much as the latency does, or less.

import tQuantile from '@stdlib/stats-base-dists-t-quantile'
import type { RegressionVerdict } from '../reports/src/summary.ts'

export type BucketSamples = readonly (readonly number[])[]

export type GateRule = {
  /** The latency percentiles compared: the median and the tier's percentile. */
  readonly percentiles: readonly number[]
  /** Probability that identical code is called regressed, for all metrics of a comparison together. */
  readonly falseAlarmRate: number
  /** The power at which the detectable change is stated. */
  readonly power: number
  /** Run-to-run standard deviation of log(percentile) assumed at least (0.03: runs differ by >= 3 %). */
  readonly noiseFloor: number
  /** A significant change must also be at least this relative change ... */
  readonly minChange: number
  /** ... and this many ms, to fail the build. */
  readonly minChangeMs: number
  /** The same for the proxy's own time, about a tenth of the latency at the tiers' rates. */
  readonly ownMinChangeMs: number
  /** Not significant, and blind to regressions smaller than this relative change: inconclusive. */
  readonly inconclusiveAbove: number
}

export const DEFAULT_RULE: GateRule = {
  percentiles: [50, 95],
  falseAlarmRate: 0.0025,
  power: 0.9,
  noiseFloor: 0.03,
  minChange: 0.05,
  minChangeMs: 0.5,
  ownMinChangeMs: 0.05,
  inconclusiveAbove: 0.5,
}

/** The rule for a tier whose latency target is at `percentile` (the median is always compared). */
export function ruleFor(percentile: number, overrides: Partial<GateRule> = {}): GateRule {
  const percentiles = [...new Set([50, percentile])].sort((a, b) => a - b)
  return { ...DEFAULT_RULE, percentiles, ...overrides }
}

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits).replace(/\.0+$/, '')} %`

export function describeRule(
  rule: GateRule,
  baselineRuns: number,
  currentRuns: number,
  ownTime = false,
): string {
  const logs = rule.percentiles.map((p) => `log(p${p})`).join(', ')
  const own = ownTime
    ? ` and on the log of the median of the proxy's own time (Server-Timing), regressed from +${rule.ownMinChangeMs} ms`
    : ''
  return `one-sided t-test on ${logs} per run${own}: ${baselineRuns} baseline run${baselineRuns === 1 ? '' : 's'} against ${currentRuns} current run${currentRuns === 1 ? '' : 's'}, run-to-run noise from their spread (at least ${pct(rule.noiseFloor)}), ${pct(rule.falseAlarmRate, 2)} false alarms on identical code for all metrics together; regressed when significant and at least +${pct(rule.minChange)} and +${rule.minChangeMs} ms; the detectable change is the one caught ${pct(rule.power)} of the time`
}

/** The percentile of a run's pooled samples (nearest rank). */
export function runPercentile(run: BucketSamples, p: number): number | null {
  let size = 0
  for (const bucket of run) size += bucket.length
  if (size === 0) return null
  const values = new Float64Array(size)
  let at = 0
  for (const bucket of run) {
    values.set(bucket, at)
    at += bucket.length
  }
  return percentile(values, p)
}

/**
 * Compares current runs with baseline runs of the same tier, metric by metric: the latency
 * percentiles, then the median of the proxy's own time where `own` gives it (ms, or null for a run
 * without it) for at least one run of each side and three in all: a baseline recorded without it
 * compares the latency alone. The median alone: it is the proxy's work a request, and its tail is
 * the latency percentile's business. The false-alarm rate is shared by every metric compared. Runs
 * without samples are left out; fewer than two runs in all (no noise estimate) throws.
 */
export function compareRuns(
  baselineRuns: readonly BucketSamples[],
  currentRuns: readonly BucketSamples[],
  rule: GateRule = DEFAULT_RULE,
  own?: { readonly baseline: readonly (number | null)[]; readonly current: readonly (number | null)[] },
): RegressionVerdict[] {
  const positiveLogs = (values: readonly (number | null)[]) =>
    values.flatMap((v) => (v !== null && v > 0 ? [Math.log(v)] : []))
  const ownBase = positiveLogs(own?.baseline ?? [])
  const ownCur = positiveLogs(own?.current ?? [])
  const ownCompared = ownBase.length > 0 && ownCur.length > 0 && ownBase.length + ownCur.length >= 3
  const tail = rule.falseAlarmRate / (rule.percentiles.length + (ownCompared ? 1 : 0))
  const latency = rule.percentiles.map((p) => {
    const logs = (runs: readonly BucketSamples[]) => positiveLogs(runs.map((run) => runPercentile(run, p)))
    return compareLogs(`latency_p${p}_ms`, logs(baselineRuns), logs(currentRuns), rule, tail, {
      minChangeMs: rule.minChangeMs,
      digits: 2,
    })
  })
  if (!ownCompared) return latency
  // A fraction of a millisecond: three decimals keep its change readable.
  const scale = { minChangeMs: rule.ownMinChangeMs, digits: 3 }
  return [...latency, compareLogs('proxy_own_p50_ms', ownBase, ownCur, rule, tail, scale)]
}

/** One metric: the runs' logs of it, compared by the rule at the one-sided tail `tail`. */
function compareLogs(
  metric: string,
  base: readonly number[],
  cur: readonly number[],
  rule: GateRule,
  tail: number,
  scale: { readonly minChangeMs: number; readonly digits: number },
): RegressionVerdict {
  const { minChangeMs, digits } = scale
  const K = base.length
  const M = cur.length
  const df = K + M - 2
  if (K === 0 || M === 0 || df < 1) {
    throw new RangeError(
      `${metric}: needs a baseline run and a current run with samples, and three runs in all (got ${K} and ${M})`,
    )
  }
  const meanBase = mean(base)
  const meanCur = mean(cur)
  const squares = sumOfSquares(base, meanBase) + sumOfSquares(cur, meanCur)
  const noise = Math.max(rule.noiseFloor, Math.sqrt(squares / df))
  const se = noise * Math.sqrt(1 / K + 1 / M)
  const d = meanCur - meanBase
  const critical = tQuantile(1 - tail, df)
  const baseline = Math.exp(meanBase)
  const current = Math.exp(meanCur)
  const change = current / baseline - 1
  const floor = Math.max(rule.minChange, minChangeMs / baseline)
  const detectable = Math.max(floor, Math.exp((critical + tQuantile(rule.power, df)) * se) - 1)
  const significant = Math.abs(d) > critical * se
  const verdict =
    significant && d > 0 && change >= floor
      ? 'regressed'
      : significant && d < 0 && -change >= Math.min(floor, 1)
        ? 'improved'
        : detectable > rule.inconclusiveAbove
          ? 'inconclusive'
          : 'unchanged'
  return {
    metric,
    baseline: round(baseline, digits),
    current: round(current, digits),
    change: round(change, 4),
    interval: {
      low: round(Math.exp(d - critical * se) - 1, 4),
      high: round(Math.exp(d + critical * se) - 1, 4),
      confidence: 1 - 2 * tail,
    },
    verdict,
    detectable_change: round(detectable, 4),
    runs: { baseline: K, current: M },
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length
}

function sumOfSquares(values: readonly number[], around: number): number {
  return values.reduce((a, b) => a + (b - around) ** 2, 0)
}

/** Nearest-rank percentile by quickselect (the array is reordered). */
export function percentile(values: Float64Array, p: number): number {
  const k = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))
  let lo = 0
  let hi = values.length - 1
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]
    let i = lo
    let j = hi
    while (i <= j) {
      while (values[i] < pivot) i++
      while (values[j] > pivot) j--
      if (i <= j) {
        const t = values[i]
        values[i] = values[j]
        values[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else break
  }
  return values[k]
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
