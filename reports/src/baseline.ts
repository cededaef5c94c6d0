// One rule for judging a baseline and its margin, shared by every producer of summaries.
import type { BaselineResult, BaselineUnit, Comparator } from './summary.ts'

export type BaselineCheck = {
  name: string
  metric: string
  comparator: Comparator
  threshold: number
  unit?: BaselineUnit
}

/**
 * Judges a measured value against a baseline. The margin is the signed headroom as a fraction of
 * the threshold: p95 380 ms against `< 500` gives +0.24, 600 ms gives -0.2; rps 90 against `>= 80`
 * gives +0.125. A metric that was not measured fails with no margin.
 */
export function evaluateBaseline(check: BaselineCheck, actual: number | null): BaselineResult {
  if (actual === null || !Number.isFinite(actual))
    return { ...check, actual: null, passed: false, margin: null }
  const { comparator, threshold } = check
  const passed =
    comparator === '<'
      ? actual < threshold
      : comparator === '<='
        ? actual <= threshold
        : comparator === '>'
          ? actual > threshold
          : actual >= threshold
  const headroom = comparator === '<' || comparator === '<=' ? threshold - actual : actual - threshold
  const margin = threshold === 0 ? null : headroom / Math.abs(threshold)
  return { ...check, actual, passed, margin }
}

/**
 * Whether a run without an error is too short to show an error rate below `threshold`: one error
 * in its `requests` would already reach the threshold, so its clean record fits a rate above it as
 * well as none (14 requests without an error fit 5 % as well as 0 %). Such a run is inconclusive,
 * not passed; a run with an error is judged by the baseline, never in its favour.
 */
export function tooFewForErrorRate(requests: number, errors: number, threshold: number): boolean {
  return errors === 0 && threshold > 0 && requests * threshold <= 1
}
