// The Universal Scalability Law (Gunther): throughput at concurrency N is
//   X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1))
// lambda: throughput of one unit of concurrency without interference; sigma: contention (the share
// that serializes); kappa: coherency (the cost of units waiting on each other, which makes throughput
// fall past a peak at N* = sqrt((1 - sigma) / kappa)). Fitted by Levenberg-Marquardt
// (ml-levenberg-marquardt) with the analytical Jacobian, on data scaled to order 1 (N by its largest
// value, X by its largest value) so the three parameters, which differ by orders of magnitude, are
// equally well conditioned; several starting points, the best fit kept.
import { levenbergMarquardt } from 'ml-levenberg-marquardt'
import type { UslFitSummary } from '../../reports/src/capacity-summary.ts'

export type UslParams = { readonly lambda: number; readonly sigma: number; readonly kappa: number }

export type UslFit = UslParams & {
  readonly points: number
  /** Coefficient of determination of X over the points. */
  readonly r2: number
  /** Root-mean-square error, in units of X. */
  readonly rmse: number
  /** Mean absolute percentage error, %. */
  readonly mape: number
  /** Where throughput peaks (kappa > 0), or its ceiling lambda / sigma (kappa = 0, sigma > 0). */
  readonly peak: { readonly n: number | null; readonly x: number } | null
  /** True when kappa was held at 0 (too few points to identify it). */
  readonly kappaFixed: boolean
}

export type UslPoint = { readonly n: number; readonly x: number }

export function uslThroughput(p: UslParams, n: number): number {
  return (p.lambda * n) / (1 + p.sigma * (n - 1) + p.kappa * n * (n - 1))
}

/**
 * The concurrency at which the model carries `rate` (the smaller root), or null past its peak. With
 * Little's law the model's response time at that rate is N / rate.
 */
export function uslConcurrencyAt(p: UslParams, rate: number): number | null {
  if (rate <= 0) return 0
  const a = rate * p.kappa
  const b = rate * p.sigma - rate * p.kappa - p.lambda
  const c = rate * (1 - p.sigma)
  if (a === 0) return b < 0 ? c / -b : null
  const disc = b * b - 4 * a * c
  if (disc < 0) return null
  const n = (-b - Math.sqrt(disc)) / (2 * a)
  return n > 0 ? n : null
}

export function uslPeak(p: UslParams): UslFit['peak'] {
  if (p.kappa > 0) {
    const n = Math.sqrt(Math.max(0, 1 - p.sigma) / p.kappa)
    return { n, x: uslThroughput(p, Math.max(1, n)) }
  }
  return p.sigma > 0 ? { n: null, x: p.lambda / p.sigma } : null
}

/**
 * Least-squares fit of the USL to (N, X) points. Needs at least 3 points with N > 0 (2 when kappa is
 * held at 0); fewer give null. Gunther recommends 6 or more for the three parameters.
 */
export function fitUsl(points: readonly UslPoint[], options: { fixKappa?: boolean } = {}): UslFit | null {
  const data = points.filter((p) => p.n > 0 && p.x >= 0 && Number.isFinite(p.n) && Number.isFinite(p.x))
  const fixKappa = options.fixKappa === true || data.length < 3
  if (data.length < (fixKappa ? 2 : 3)) return null
  const nScale = Math.max(...data.map((p) => p.n))
  const xScale = Math.max(...data.map((p) => p.x)) || 1
  const x = data.map((p) => p.n / nScale)
  const y = data.map((p) => p.x / xScale)
  // Scaled parameters: l = lambda nScale / xScale, s = sigma, k = kappa nScale^2.
  const model =
    ([l, s, k]: number[]) =>
    (u: number) => {
      const n = u * nScale
      return (l * u) / (1 + s * (n - 1) + (k * u * (n - 1)) / nScale)
    }
  const jacobian =
    ([l, s, k]: number[]) =>
    (u: number) => {
      const n = u * nScale
      const d = 1 + s * (n - 1) + (k * u * (n - 1)) / nScale
      const f = (l * u) / (d * d)
      return [u / d, -f * (n - 1), fixKappa ? 0 : (-f * u * (n - 1)) / nScale]
    }
  const slope = Math.max(...data.map((_, i) => y[i] / x[i]))
  let best: { params: number[]; error: number } | null = null
  for (const s0 of [0, 0.05, 0.3]) {
    for (const k0 of fixKappa ? [0] : [0, 0.05, 1]) {
      const result = levenbergMarquardt({ x, y }, model, {
        initialValues: [slope, s0, k0],
        jacobianFunction: jacobian,
        minValues: [0, 0, 0],
        maxValues: [Number.MAX_VALUE, 1, fixKappa ? 0 : Number.MAX_VALUE],
        damping: 1e-2,
        maxIterations: 500,
        errorTolerance: 1e-12,
        improvementThreshold: 1e-6,
      })
      if (!best || result.parameterError < best.error)
        best = { params: result.parameterValues, error: result.parameterError }
    }
  }
  const [l, s, k] = best!.params
  const params: UslParams = {
    lambda: (l * xScale) / nScale,
    sigma: s,
    kappa: fixKappa ? 0 : k / (nScale * nScale),
  }
  return {
    ...params,
    ...fitErrors(params, data),
    points: data.length,
    peak: uslPeak(params),
    kappaFixed: fixKappa,
  }
}

function fitErrors(p: UslParams, data: readonly UslPoint[]): { r2: number; rmse: number; mape: number } {
  const mean = data.reduce((sum, d) => sum + d.x, 0) / data.length
  let sse = 0
  let sst = 0
  let ape = 0
  let counted = 0
  for (const d of data) {
    const residual = d.x - uslThroughput(p, d.n)
    sse += residual * residual
    sst += (d.x - mean) ** 2
    if (d.x > 0) {
      ape += Math.abs(residual) / d.x
      counted++
    }
  }
  return {
    r2: sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0,
    rmse: Math.sqrt(sse / data.length),
    mape: counted > 0 ? (ape / counted) * 100 : 0,
  }
}

/** The fit as the capacity summary records it. */
export function uslSummary(fit: UslFit | null, over: UslFitSummary['over']): UslFitSummary | null {
  if (!fit) return null
  const { kappaFixed, ...rest } = fit
  return { over, ...rest, kappa_fixed: kappaFixed }
}
