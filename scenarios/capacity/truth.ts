// The held-out check: the capacity model is fitted on the lower rates only (as soon as they are
// measured, before any higher rate runs), predicts the knee and the latencies of every higher rate,
// and is then compared with what those rates measured. Goal: within 15 %.
import type { HeldOut, Slo, StepPoint, Sweep, Truth } from '../../reports/src/capacity-summary.ts'
import { type Arrivals, bindingBound, boundsFor, measureDemands, predictAt, predictKnee } from './model.ts'
import { fitUsl, type UslFit, uslConcurrencyAt, uslSummary } from './usl.ts'

export const TRUTH_GOAL = 0.15

export type Forecast = {
  readonly fitMax: number
  readonly fitPoints: number
  readonly demands: ReturnType<typeof measureDemands>
  readonly usl: UslFit | null
  readonly ceiling: number | null
  readonly binding: string | null
  readonly knee: number | null
  readonly workers: number
  readonly arrivals: Arrivals
}

export const METHOD =
  'Fitted on the rates at or below the fit limit, before any higher rate ran: per-request demands ' +
  "(Little's law, least squares) against the configured limits give the ceiling; Erlang C with the " +
  'Allen-Cunneen correction gives the wait in front of each provider pool, added to the low-load ' +
  'TTFT and latency; the knee is the highest rate whose predicted figures meet the SLO. The USL fitted ' +
  'on the same points gives a second latency prediction, N(rate) / rate.'

export function forecast(
  fit: readonly StepPoint[],
  options: { workers: number; slo: Slo; memoryMb: number; fdLimit: number | null },
): Forecast {
  const demands = measureDemands(fit, { workers: options.workers, fdLimit: options.fdLimit })
  const usl = fitUsl(
    fit.filter((p) => p.verdict === 'pass').map((p) => ({ n: p.concurrency.mean, x: p.achieved_rps })),
  )
  const bound = demands
    ? bindingBound(
        boundsFor(demands, {
          workers: options.workers,
          measuredWorkers: options.workers,
          memoryMb: options.memoryMb,
        }),
      )
    : null
  const ceiling = bound?.rate ?? null
  return {
    fitMax: Math.max(0, ...fit.map((p) => p.target_rps ?? 0)),
    fitPoints: fit.length,
    demands,
    usl,
    ceiling,
    binding: bound?.resource ?? null,
    knee: demands && ceiling ? predictKnee(demands, options.slo, ceiling, 'constant', options.workers) : null,
    workers: options.workers,
    arrivals: 'constant',
  }
}

const error = (predicted: number | null, measured: number | null) =>
  predicted === null || measured === null || measured === 0
    ? null
    : Math.round(((predicted - measured) / measured) * 1e4) / 1e4

function heldOut(f: Forecast, point: StepPoint & { target_rps: number }): HeldOut {
  const rate = point.target_rps
  const p = f.demands && f.ceiling ? predictAt(f.demands, rate, f.ceiling, f.arrivals, f.workers) : null
  const n = f.usl ? uslConcurrencyAt(f.usl, rate) : null
  const measured = {
    latency_mean_ms: point.latency_ms?.mean ?? null,
    latency_p95_ms: point.latency_ms?.p95 ?? null,
    ttft_p95_ms: point.ttft_ms?.p95 ?? null,
  }
  const predicted = {
    latency_mean_ms: p?.latency_mean_ms ?? null,
    latency_p95_ms: p?.latency_p95_ms ?? null,
    ttft_p95_ms: p?.ttft_p95_ms ?? null,
    usl_latency_mean_ms: n === null ? null : Math.round((n / rate) * 1e4) / 10,
  }
  return {
    rate,
    predicted,
    measured,
    error: {
      latency_mean: error(predicted.latency_mean_ms, measured.latency_mean_ms),
      latency_p95: error(predicted.latency_p95_ms, measured.latency_p95_ms),
      ttft_p95: error(predicted.ttft_p95_ms, measured.ttft_p95_ms),
    },
  }
}

/** The machine's CPU at this share of its cores is saturated. */
const SATURATED = 0.95

export function checkTruth(f: Forecast, sweep: Sweep, cpuCount: number): Truth {
  const held = sweep.points
    .filter(
      (p): p is StepPoint & { target_rps: number } =>
        p.target_rps !== null && !p.in_fit && p.target_rps > f.fitMax,
    )
    .sort((a, b) => a.target_rps - b.target_rps)
    .map((p) => heldOut(f, p))
  const measuredKnee = sweep.knee.bracketed ? sweep.knee.rate : null
  const below = held.filter((h) => measuredKnee !== null && h.rate <= measuredKnee)
  const latencyCheck = below[below.length - 1] ?? null
  const kneeError = error(f.knee, measuredKnee)
  const checks = [kneeError, latencyCheck?.error.latency_mean ?? null].filter((e): e is number => e !== null)
  const saturated = sweep.points.filter(
    (p) =>
      p.target_rps !== null &&
      p.target_rps > f.fitMax &&
      (p.resources.machine_busy_percent ?? 0) >= SATURATED * 100 * cpuCount,
  ).length
  return {
    workers: f.workers,
    fit_max_rps: f.fitMax,
    fit_points: f.fitPoints,
    usl: uslSummary(f.usl, 'concurrency'),
    predicted_max_rps: f.ceiling,
    predicted_binding: f.binding,
    predicted_knee_rps: f.knee,
    measured_knee_rps: measuredKnee,
    knee_error: kneeError,
    held_out: held,
    latency_check: latencyCheck,
    goal: TRUTH_GOAL,
    within_goal: checks.length === 2 ? checks.every((e) => Math.abs(e) <= TRUTH_GOAL) : null,
    saturated_steps: saturated,
    method: METHOD,
  }
}
