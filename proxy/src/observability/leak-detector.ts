import { linearRegression, linearRegressionLine, rSquared } from 'simple-statistics'
import { round } from './window.ts'

// Leak detection from the heap left after garbage collection. The heap in use between
// collections saw-tooths with traffic and says little; what survives a major GC is what the
// process keeps. A least-squares line through those post-GC samples over a window gives a slope:
// a leak is a slope above the threshold that holds over the whole window (both halves rise and
// the line fits), not a cache warming up and levelling off.

export interface LeakOptions {
  readonly windowMs: number
  readonly minSamples: number
  readonly minSpanMs: number
  /** MB per minute above which a consistent rise is reported. */
  readonly thresholdMbPerMinute: number
  readonly maxSamples: number
}

export const DEFAULT_LEAK_OPTIONS: LeakOptions = {
  windowMs: 30 * 60_000,
  minSamples: 8,
  minSpanMs: 5 * 60_000,
  thresholdMbPerMinute: 0.5,
  maxSamples: 240,
}

export interface LeakVerdict {
  suspected: boolean
  reason: string
  samples: number
  span_minutes: number
  slope_mb_per_minute: number | null
  r_squared: number | null
  first_mb: number | null
  last_mb: number | null
}

const MB = 1024 * 1024

export class LeakDetector {
  readonly #options: LeakOptions
  readonly #samples: { t: number; mb: number }[] = []

  constructor(options: Partial<LeakOptions> = {}) {
    this.#options = { ...DEFAULT_LEAK_OPTIONS, ...options }
  }

  /** A heap-in-use reading taken right after a major garbage collection. */
  add(at: number, heapUsedBytes: number): void {
    this.#samples.push({ t: at, mb: heapUsedBytes / MB })
    if (this.#samples.length > this.#options.maxSamples) this.#samples.shift()
  }

  samples(): readonly { t: number; mb: number }[] {
    return this.#samples
  }

  verdict(now: number): LeakVerdict {
    const o = this.#options
    const recent = this.#samples.filter((s) => s.t >= now - o.windowMs)
    const base = {
      samples: recent.length,
      span_minutes: recent.length > 1 ? round((recent[recent.length - 1].t - recent[0].t) / 60_000, 2) : 0,
      first_mb: recent.length ? round(recent[0].mb, 2) : null,
      last_mb: recent.length ? round(recent[recent.length - 1].mb, 2) : null,
    }
    const spanMs = base.span_minutes * 60_000
    if (recent.length < o.minSamples || spanMs < o.minSpanMs) {
      return {
        ...base,
        suspected: false,
        reason: `not enough post-GC samples yet (${recent.length} over ${base.span_minutes} min; need ${o.minSamples} over ${o.minSpanMs / 60_000} min)`,
        slope_mb_per_minute: null,
        r_squared: null,
      }
    }
    const points = recent.map((s) => [(s.t - recent[0].t) / 60_000, s.mb])
    const fit = linearRegression(points)
    const r2 = rSquared(points, linearRegressionLine(fit))
    const half = points.length >> 1
    const firstHalf = linearRegression(points.slice(0, half)).m
    const secondHalf = linearRegression(points.slice(half)).m
    const consistent = firstHalf > 0 && secondHalf > 0 && r2 >= 0.5
    const suspected = fit.m >= o.thresholdMbPerMinute && consistent
    let reason: string
    if (suspected) reason = `post-GC heap rising ${round(fit.m, 3)} MB/min over ${base.span_minutes} min`
    else if (fit.m >= o.thresholdMbPerMinute)
      reason = 'post-GC heap rose but not steadily (levelling off or noisy)'
    else reason = 'post-GC heap stable'
    return {
      ...base,
      suspected,
      reason,
      slope_mb_per_minute: round(fit.m, 4),
      r_squared: Number.isFinite(r2) ? round(r2, 3) : null,
    }
  }
}
