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
