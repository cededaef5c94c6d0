// The regression rule for errors: the latency rule (gate.ts) cannot see a proxy that starts failing
// requests. The seed baselines only cap the error rate (2 % at medium, 5 % at heavy, 10 % at extreme),
// so a change that fails one request in a hundred at extreme, where the baseline runs failed none,
// passed both. Errors are counted, not measured: they are compared as counts, exactly.
//
// Given the errors of both sides together (E = Eb + Ec), identical code spreads them over the baseline
// and the current requests in proportion to their numbers: Ec ~ Binomial(E, Nc / (Nb + Nc)). The
// current side regressed when so many of them landing on it is less likely than `falseAlarmRate`
// (a one-sided exact test, conditional on E), and its error rate is at least `minChange` above the
// baseline's (significant and large enough to matter). With ten clean baseline runs of a tier and
// one current run of the same size, four errors are needed (3 would happen on identical code once in
// 1,331 runs); five for medium's two runs. (Against five: five errors, and seven for two runs.)
//
// The smallest regression it detects is stated with the verdict, as for latency: the error rate that
// reaches the critical count 90 % of the time (errors as a Poisson count). When that is at or above
// the tier's own error-rate limit, the seed baseline already catches everything this test could:
// the verdict is `inconclusive` (light's single run of about 210 requests is such a case).
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf'
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile'
import poissonCdf from '@stdlib/stats-base-dists-poisson-cdf'
import type { RegressionVerdict } from '../reports/src/summary.ts'

/** Requests and errors of one run. */
export type ErrorCounts = { readonly requests: number; readonly errors: number }

export type ErrorRule = {
  /** Probability that identical code is called regressed by this test. */
  readonly falseAlarmRate: number
  /** The power at which the detectable change is stated. */
  readonly power: number
  /** A significant increase must also be at least this many percentage points (0.001 = 0.1 point). */
  readonly minChange: number
}

export const ERROR_RULE: ErrorRule = { falseAlarmRate: 0.0005, power: 0.9, minChange: 0.001 }

export const ERROR_METRIC = 'error_rate'

export function describeErrorRule(rule: ErrorRule = ERROR_RULE): string {
  return `errors: one-sided exact test on the counts (binomial, given the errors of both sides), ${(rule.falseAlarmRate * 100).toFixed(2)} % false alarms on identical code; regressed when significant and at least +${(rule.minChange * 100).toFixed(1)} percentage point`
}

/**
 * The current runs' errors against the baseline runs'. `limit` is the tier's error-rate limit: a
 * test blind below it adds nothing to the seed baseline and says so (inconclusive).
 */
export function compareErrors(
  baselineRuns: readonly ErrorCounts[],
  currentRuns: readonly ErrorCounts[],
  limit: number,
  rule: ErrorRule = ERROR_RULE,
): RegressionVerdict {
  const sum = (runs: readonly ErrorCounts[], key: keyof ErrorCounts) => runs.reduce((a, r) => a + r[key], 0)
  const nb = sum(baselineRuns, 'requests')
  const nc = sum(currentRuns, 'requests')
  if (nb === 0 || nc === 0)
    throw new RangeError(`${ERROR_METRIC}: needs requests on both sides (got ${nb} and ${nc})`)
  const eb = sum(baselineRuns, 'errors')
  const ec = sum(currentRuns, 'errors')
  const share = nc / (nb + nc)
  const alpha = rule.falseAlarmRate
  const pValue = binomialTail(eb + ec, share, ec)
  const baseline = eb / nb
  const current = ec / nc
  const change = current - baseline
  // The fewest current errors that are significant beside these baseline ones, and the error rate
  // that brings that many 90 % of the time.
  let critical = 1
  while (critical <= nc && binomialTail(eb + critical, share, critical) >= alpha) critical++
  const detectable = Math.max(rule.minChange, poissonMeanReaching(critical, rule.power) / nc - baseline)
  const significant = pValue < alpha
  const verdict =
    significant && change >= rule.minChange
      ? 'regressed'
      : binomialTail(eb + ec, 1 - share, eb) < alpha && -change >= rule.minChange
        ? 'improved'
        : detectable >= limit
          ? 'inconclusive'
          : 'unchanged'
  const confidence = 1 - 2 * alpha
  const interval = rateDifferenceInterval(ec, nc, eb, nb, confidence)
  return {
    metric: ERROR_METRIC,
    baseline: round(baseline, 6),
    current: round(current, 6),
    change: round(change, 6),
    change_unit: 'points',
    interval: { low: round(interval.low, 6), high: round(interval.high, 6), confidence },
    verdict,
    detectable_change: round(detectable, 6),
    runs: { baseline: baselineRuns.length, current: currentRuns.length },
  }
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialTail(n: number, p: number, k: number): number {
  if (k <= 0) return 1
  if (k > n) return 0
  return Math.max(0, 1 - binomialCdf(k - 1, n, p))
}

/** The Poisson mean at which P(X >= k) reaches `power` (bisection). */
export function poissonMeanReaching(k: number, power: number): number {
  const reaches = (mean: number) => k <= 0 || 1 - poissonCdf(k - 1, mean) >= power
  let lo = 0
  let hi = 2 * k + 10
  while (!reaches(hi)) hi *= 2
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2
    if (reaches(mid)) hi = mid
    else lo = mid
  }
  return hi
}

/**
 * Newcombe's interval for the difference of two proportions (current minus baseline) from their
 * Wilson score intervals: it stays inside [-1, 1] and is sound at zero errors, where the textbook
 * one collapses to a point.
 */
function rateDifferenceInterval(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  confidence: number,
): { low: number; high: number } {
  const z = normalQuantile(1 - (1 - confidence) / 2, 0, 1)
  const [l1, u1] = wilson(x1, n1, z)
  const [l2, u2] = wilson(x2, n2, z)
  const p1 = x1 / n1
  const p2 = x2 / n2
  const d = p1 - p2
  return {
    low: d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
    high: d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
  }
}

function wilson(x: number, n: number, z: number): [number, number] {
  const p = x / n
  const z2 = z * z
  const center = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))
  return [Math.max(0, center - half), Math.min(1, center + half)]
}

function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
