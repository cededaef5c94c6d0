// The sweep of one proxy configuration, in the manner of GuideLLM: first the maximum throughput (a
// closed loop of many users sending back to back), then constant arrival rates spread between a low
// rate and that maximum, then bisection between the last rate that held the SLO and the first that
// broke it. With `check`, the capacity model is fitted on the lower rates as soon as they are measured
// and its predictions are written down before the higher rates run (truth.ts compares them).
import type { Slo, StepPoint, Sweep } from '../../reports/src/capacity-summary.ts'
import { measuredBinding } from './binding.ts'
import { findKnee, judgeStep, refinementRate, roundRate } from './knee.ts'
import { runStep, type StepOptions, type StepResult, type StepSpec } from './load.ts'
import { boundsFor, measureDemands } from './model.ts'
import { type Forecast, forecast } from './truth.ts'
import { fitUsl, uslSummary } from './usl.ts'

export type SweepOptions = Omit<StepOptions, 'onTick'> & {
  readonly workers: number
  readonly slo: Slo
  /** Rate steps between the low rate and the maximum. */
  readonly rates: number
  /** Bisection steps after the sweep. */
  readonly refine: number
  /** Users of the closed-loop maximum-throughput step. */
  readonly maxUsers: number
  /** Rates at or below this share of the maximum are the fit of the held-out check. */
  readonly fitShare: number
  /** Fit the model on the lower rates and predict the rest before measuring it. */
  readonly check: boolean
  readonly memoryMb: number
  readonly cpuCount: number
  readonly fdLimit: number | null
  readonly onStep?: (point: StepPoint, label: string) => void
  /** Overrides the step runner (tests). */
  readonly step?: (spec: StepSpec, options: StepOptions) => Promise<StepResult>
}

export type SweepOutcome = { readonly sweep: Sweep; readonly forecast: Forecast | null }

/** The lowest rate as a share of the maximum throughput. */
export const LOW_SHARE = 0.15
/** When every rate up to the maximum held, steps this far past the last one bracket the knee... */
export const OVERSHOOT = 1.25
/** ... at most this many. */
export const MAX_OVERSHOOTS = 3

export function toPoint(result: StepResult, phase: StepPoint['phase'], slo: Slo, inFit: boolean): StepPoint {
  const w = result.window
  const windowS = w.to_s - w.from_s
  const base = {
    phase,
    target_rps: result.spec.kind === 'rate' ? result.spec.rps : null,
    users: result.spec.kind === 'closed' ? result.spec.users : null,
    window_s: windowS,
    started: w.started,
    succeeded: w.succeeded,
    errors: w.errors,
    error_rate: w.started > 0 ? Math.round((w.errors / w.started) * 1e4) / 1e4 : 0,
    errors_by_kind: { ...w.errors_by_kind },
    achieved_rps: Math.round((w.completed_in_window / windowS) * 100) / 100,
    dropped: result.dropped,
    latency_ms: w.latency_ms,
    ttft_ms: w.ttft_ms,
    itl_ms: w.itl_ms,
    tokens_mean: w.tokens_mean,
    latency_scv: w.latency_scv,
    concurrency: result.concurrency,
    resources: { ...result.resources },
    generator: {
      cpu_percent: result.generator.cpuPercent,
      send_lag_p99_ms: result.generator.sendLagP99Ms,
      limited: result.generator.limited,
    },
    in_fit: inFit,
  }
  return { ...base, ...judgeStep(base, slo) }
}

/** Evenly spaced rates from LOW_SHARE of the maximum up to it. */
export function sweepRates(maxRps: number, count: number): number[] {
  const low = maxRps * LOW_SHARE
  if (count <= 1) return [roundRate(maxRps)]
  return Array.from({ length: count }, (_, i) => roundRate(low + ((maxRps - low) * i) / (count - 1)))
}

export async function runSweep(options: SweepOptions): Promise<SweepOutcome> {
  const step = options.step ?? runStep
  const points: StepPoint[] = []
  const measure = async (spec: StepSpec, phase: StepPoint['phase'], inFit: boolean) => {
    options.signal?.throwIfAborted()
    const point = toPoint(await step(spec, options), phase, options.slo, inFit)
    points.push(point)
    const label = spec.kind === 'rate' ? `${spec.rps} req/s` : `${spec.users} users (max throughput)`
    options.onStep?.(point, label)
    return point
  }

  const max = await measure({ kind: 'closed', users: options.maxUsers }, 'max', false)
  if (max.achieved_rps <= 0)
    throw new Error(`the maximum-throughput step completed nothing (${max.reasons.join('; ')})`)
  const rates = sweepRates(max.achieved_rps, options.rates)
  const fitMax = max.achieved_rps * options.fitShare
  let prediction: Forecast | null = null
  for (const rate of rates) {
    if (options.check && prediction === null && rate > fitMax) {
      prediction = forecast(
        points.filter((p) => p.in_fit),
        options,
      )
    }
    await measure({ kind: 'rate', rps: rate }, 'sweep', options.check && rate <= fitMax)
  }
  if (options.check && prediction === null)
    prediction = forecast(
      points.filter((p) => p.in_fit),
      options,
    )
  // Every rate held: the max step under-measured (a busy moment). Go past it until one breaks.
  for (let i = 0; i < MAX_OVERSHOOTS && findKnee(points).first_fail_rate === null; i++) {
    const top = Math.max(...points.map((p) => p.target_rps ?? 0))
    await measure({ kind: 'rate', rps: roundRate(top * OVERSHOOT) }, 'sweep', false)
  }
  for (let i = 0; i < options.refine; i++) {
    const next = refinementRate(findKnee(points))
    if (next === null || points.some((p) => p.target_rps === next)) break
    await measure({ kind: 'rate', rps: next }, 'refine', false)
  }

  const knee = findKnee(points)
  const demands = measureDemands(points, { workers: options.workers, fdLimit: options.fdLimit })
  const usl = fitUsl(
    points
      .filter((p) => p.verdict !== 'inconclusive')
      .map((p) => ({ n: p.concurrency.mean, x: p.achieved_rps })),
  )
  return {
    sweep: {
      workers: options.workers,
      points,
      max_throughput_rps: max.achieved_rps,
      knee,
      binding: measuredBinding(points, options),
      usl: uslSummary(usl, 'concurrency'),
      demands,
      bounds: demands
        ? boundsFor(demands, {
            workers: options.workers,
            measuredWorkers: options.workers,
            memoryMb: options.memoryMb,
          })
        : [],
    },
    forecast: prediction,
  }
}
