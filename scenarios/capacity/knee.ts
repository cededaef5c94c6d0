// Judging the steps of a sweep against the SLO, and the knee: the highest arrival rate at which the
// SLO holds. A step holds when every SLO figure is met, the target kept up with the arrivals (the
// achieved rate is at least 90 % of the offered one, nothing dropped) and the in-flight count did not
// keep climbing over the window (GuideLLM's over-saturation sign: a queue that grows is a rate that
// cannot be sustained, however good its first seconds look). A step whose generator was the limit
// proves nothing either way: inconclusive.
import type { Knee, Slo, StepPoint } from '../../reports/src/capacity-summary.ts'

/** Achieved / offered below this: the target did not keep up (tiers.yaml's rps_tolerance). */
export const SUSTAINED_SHARE = 0.9

export type Judged = Pick<StepPoint, 'verdict' | 'reasons'>

type Judgeable = Pick<
  StepPoint,
  | 'target_rps'
  | 'achieved_rps'
  | 'error_rate'
  | 'dropped'
  | 'latency_ms'
  | 'ttft_ms'
  | 'itl_ms'
  | 'concurrency'
  | 'generator'
  | 'succeeded'
  | 'started'
  | 'errors'
>

/**
 * Growth of the in-flight count over the window beyond which a step is over-saturated: Poisson-like
 * noise (2 sqrt(mean)) plus 10 % of the mean, so a steady step at any scale stays under it.
 */
export function growthLimit(mean: number): number {
  return 2 + 0.1 * mean + 2 * Math.sqrt(mean)
}

export function judgeStep(step: Judgeable, slo: Slo): Judged {
  const reasons: string[] = []
  const over = (name: string, actual: number | null | undefined, limit: number | null) => {
    if (limit === null) return
    if (actual === null || actual === undefined) reasons.push(`${name} not measured`)
    else if (actual > limit) reasons.push(`${name} ${round(actual)} ms > ${limit} ms`)
  }
  if (step.succeeded === 0) reasons.push('no request succeeded')
  over('TTFT p95', step.ttft_ms?.p95, slo.ttft_p95_ms)
  over('ITL p95', step.itl_ms?.p95, slo.itl_p95_ms)
  over('latency p95', step.latency_ms?.p95, slo.latency_p95_ms)
  if (step.error_rate > slo.error_rate_max)
    reasons.push(`error rate ${round(step.error_rate * 100)} % > ${round(slo.error_rate_max * 100)} %`)
  if (step.target_rps !== null && step.achieved_rps < step.target_rps * SUSTAINED_SHARE)
    reasons.push(`achieved ${round(step.achieved_rps)} of ${round(step.target_rps)} req/s`)
  if (step.dropped > 0) reasons.push(`${step.dropped} arrivals dropped (in-flight cap)`)
  if (step.concurrency.growth > growthLimit(step.concurrency.mean))
    reasons.push(`in-flight grew by ${round(step.concurrency.growth)} over the window (queueing)`)
  if (step.generator.limited) {
    return { verdict: 'inconclusive', reasons: ['the load generator was the limit', ...reasons] }
  }
  // A clean step so short that one error would have broken the SLO fits an error rate above it as
  // well as none (the load tiers' rule, reports/src/baseline.ts tooFewForErrorRate). An SLO of no
  // error at all is shown by any step without one.
  const max = slo.error_rate_max
  if (reasons.length === 0 && step.errors === 0 && max > 0 && step.started * max < 1) {
    const fewest = Math.ceil(1 / max - 1e-9)
    return {
      verdict: 'inconclusive',
      reasons: [
        `${step.started} requests are too few to show an error rate within ${round(max * 100)} % (${fewest} or more can: a longer window)`,
      ],
    }
  }
  return { verdict: reasons.length === 0 ? 'pass' : 'fail', reasons }
}

/** The knee over the rate steps (the closed-loop max step is not a rate and is left out). */
export function findKnee(
  points: readonly Pick<StepPoint, 'target_rps' | 'verdict' | 'achieved_rps'>[],
): Knee {
  const steps = points
    .filter(
      (p): p is typeof p & { target_rps: number } => p.target_rps !== null && p.verdict !== 'inconclusive',
    )
    .sort((a, b) => a.target_rps - b.target_rps)
  const firstFail = steps.find((p) => p.verdict === 'fail')
  const below = steps.filter(
    (p) => p.verdict === 'pass' && (!firstFail || p.target_rps < firstFail.target_rps),
  )
  const knee = below[below.length - 1]
  const passAbove = firstFail
    ? steps.some((p) => p.verdict === 'pass' && p.target_rps > firstFail.target_rps)
    : false
  const notes: string[] = []
  if (!knee) notes.push(firstFail ? 'the SLO failed at every measured rate' : 'no rate step was conclusive')
  if (passAbove)
    notes.push(
      `a rate above ${round(firstFail!.target_rps)} req/s held again: noise near the knee, the lower one counts`,
    )
  return {
    rate: knee?.target_rps ?? null,
    achieved_rps: knee?.achieved_rps ?? null,
    first_fail_rate: firstFail?.target_rps ?? null,
    bracketed: firstFail !== undefined,
    ...(notes.length ? { note: notes.join('; ') } : {}),
  }
}

/** The next rate to measure to narrow the knee (bisection), or null when it is narrow enough. */
export function refinementRate(knee: Knee, tolerance = 0.03): number | null {
  if (knee.first_fail_rate === null) return null
  const low = knee.rate ?? 0
  const high = knee.first_fail_rate
  if (low > 0 && (high - low) / low <= tolerance) return null
  return roundRate((low + high) / 2)
}

export function roundRate(rate: number): number {
  return rate >= 10 ? Math.round(rate * 10) / 10 : Math.round(rate * 100) / 100
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
