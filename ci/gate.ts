// The noise-aware regression rule of the CI gate, a two-stage (hierarchical) block bootstrap.
//
// Latency samples come in 1-second buckets: requests that finished in the same second share the
// proxy's state (GC, cache, queues), so whole buckets are resampled, not single requests, which would
// understate the noise. And runs differ from each other more than buckets within a run do (a busier
// machine, another JIT path): so the baseline keeps several runs, and each resample first draws runs
// with replacement, then buckets within each drawn run. The current run is one run: its buckets are
// resampled. Pool, take the percentile, record current / baseline - 1; 2,000 times.
//
// Verdict: regressed only when the WHOLE interval lies above +tolerance; improved when it lies below
// -tolerance; unchanged when it lies within +-tolerance; inconclusive otherwise (too noisy to say).
import type { RegressionVerdict } from '../reports/src/summary.ts'
import type { Random } from '../scenarios/random.ts'

export type BucketSamples = readonly (readonly number[])[]

export type GateRule = {
  /** The latency percentile compared (the tier's, 95 by default). */
  readonly percentile: number
  readonly confidence: number
  readonly resamples: number
  /** Relative change that counts: +10 % ... */
  readonly tolerance: number
  /** ... and at least this many ms (a 3 ms p95 moving 0.5 ms is not a regression worth a red build). */
  readonly minChangeMs: number
}

export const DEFAULT_RULE: GateRule = {
  percentile: 95,
  confidence: 0.95,
  resamples: 2000,
  tolerance: 0.1,
  minChangeMs: 2,
}

export function describeRule(rule: GateRule, baselineRuns: number): string {
  return `two-stage block bootstrap (${baselineRuns} baseline run${baselineRuns === 1 ? '' : 's'}, then 1 s buckets; ${rule.resamples} resamples), ${Math.round(rule.confidence * 100)} % interval on the relative change of p${rule.percentile}; regressed when the whole interval is above +${Math.round(rule.tolerance * 100)} % and +${rule.minChangeMs} ms`
}

/** Compares the current run's latencies with the baseline runs'. */
export function compareLatency(
  baselineRuns: readonly BucketSamples[],
  current: BucketSamples,
  rule: GateRule,
  random: Random,
): RegressionVerdict {
  const base = baselineRuns.map(nonEmpty).filter((run) => run.length >= 2)
  const cur = nonEmpty(current)
  const metric = `latency_p${rule.percentile}_ms`
  if (base.length === 0 || cur.length < 2) {
    throw new RangeError(
      `${metric}: need at least 2 non-empty buckets in a baseline run and in the current run`,
    )
  }
  const all = (runs: (readonly number[])[][]) => runs.flat()
  const basePoint = percentile(pool(all(base)), rule.percentile)
  const curPoint = percentile(pool(cur), rule.percentile)
  const draw = <T>(items: readonly T[]) =>
    Array.from({ length: items.length }, () => items[Math.floor(random() * items.length)])
  const changes = new Float64Array(rule.resamples)
  for (let i = 0; i < rule.resamples; i++) {
    const b = percentile(pool(all(draw(base).map(draw))), rule.percentile)
    const c = percentile(pool(draw(cur)), rule.percentile)
    changes[i] = c / b - 1
  }
  changes.sort()
  const tail = (1 - rule.confidence) / 2
  const low = changes[Math.floor(tail * (rule.resamples - 1))]
  const high = changes[Math.ceil((1 - tail) * (rule.resamples - 1))]
  const threshold = Math.max(rule.tolerance, rule.minChangeMs / basePoint)
  const verdict =
    low > threshold
      ? 'regressed'
      : high < -threshold
        ? 'improved'
        : low >= -threshold && high <= threshold
          ? 'unchanged'
          : 'inconclusive'
  return {
    metric,
    baseline: round(basePoint),
    current: round(curPoint),
    change: round(curPoint / basePoint - 1, 4),
    interval: { low: round(low, 4), high: round(high, 4), confidence: rule.confidence },
    verdict,
  }
}

function nonEmpty(buckets: BucketSamples): (readonly number[])[] {
  return buckets.filter((b) => b.length > 0)
}

function pool(buckets: readonly (readonly number[])[]): Float64Array {
  let size = 0
  for (const b of buckets) size += b.length
  const out = new Float64Array(size)
  let at = 0
  for (const b of buckets) {
    out.set(b, at)
    at += b.length
  }
  return out
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
