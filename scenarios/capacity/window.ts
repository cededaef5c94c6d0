// The steady-state window of one load step, in the manner of GuideLLM: latencies are those of the
// requests whose intended start falls in the window (after the warm-up, before the end of arrivals),
// whenever they finish; throughput is what completed inside the window. A request of the window still
// unanswered when the drain ends is cut by the engine and counts as an error, so a rate the target
// cannot sustain is never flattered by requests left out.
import type { Histogram } from 'hdr-histogram-js'
import type { Outcome } from '../engines/recorder.ts'
import { histogram, latencyStats, percentilesOf, recordMs } from '../engines/stats.ts'

export type Quantiles = {
  readonly p50: number
  readonly p90: number
  readonly p95: number
  readonly p99: number
}

export type WindowStats = {
  readonly from_s: number
  readonly to_s: number
  /** Requests whose intended start is in the window. */
  readonly started: number
  readonly succeeded: number
  readonly errors: number
  readonly errors_by_kind: Readonly<Record<string, number>>
  /** Successful requests that completed inside the window. */
  readonly completed_in_window: number
  readonly latency_ms: (Quantiles & { readonly mean: number; readonly max: number }) | null
  readonly ttft_ms: Quantiles | null
  readonly itl_ms: Quantiles | null
  /** Mean output tokens of the window's successful streams. */
  readonly tokens_mean: number | null
  /** Squared coefficient of variation of successful latencies (queueing models use it). */
  readonly latency_scv: number | null
}

const r2 = (value: number) => Math.round(value * 100) / 100

export class WindowAccumulator {
  readonly #fromMs: number
  readonly #toMs: number
  readonly #latency: Histogram = histogram()
  readonly #ttft: Histogram = histogram()
  readonly #itl: Histogram = histogram()
  readonly #errors: Record<string, number> = {}
  #started = 0
  #succeeded = 0
  #completed = 0
  #tokens = 0
  #streams = 0
  #sum = 0
  #sumSquares = 0

  constructor(fromMs: number, toMs: number) {
    this.#fromMs = fromMs
    this.#toMs = toMs
  }

  add(o: Outcome): void {
    if (o.ok && o.endMs >= this.#fromMs && o.endMs < this.#toMs) this.#completed++
    const startMs = o.endMs - o.latencyMs
    if (startMs < this.#fromMs || startMs >= this.#toMs) return
    this.#started++
    if (!o.ok) {
      const kind = o.kind ?? 'error'
      this.#errors[kind] = (this.#errors[kind] ?? 0) + 1
      return
    }
    this.#succeeded++
    recordMs(this.#latency, o.latencyMs)
    this.#sum += o.latencyMs
    this.#sumSquares += o.latencyMs * o.latencyMs
    const s = o.stream
    if (!s) return
    this.#streams++
    this.#tokens += s.tokens
    if (!Number.isNaN(s.ttftMs)) recordMs(this.#ttft, s.ttftMs)
    for (const gap of s.itlMs) recordMs(this.#itl, gap)
  }

  stats(): WindowStats {
    const latency = latencyStats(this.#latency)
    const n = this.#succeeded
    const mean = n > 0 ? this.#sum / n : 0
    const variance = n > 1 ? this.#sumSquares / n - mean * mean : 0
    return {
      from_s: this.#fromMs / 1000,
      to_s: this.#toMs / 1000,
      started: this.#started,
      succeeded: n,
      errors: this.#started - n,
      errors_by_kind: { ...this.#errors },
      completed_in_window: this.#completed,
      latency_ms: latency
        ? {
            p50: latency.p50,
            p90: latency.p90,
            p95: latency.p95,
            p99: latency.p99,
            mean: latency.mean,
            max: latency.max,
          }
        : null,
      ttft_ms: this.#ttft.totalCount > 0 ? percentilesOf(this.#ttft) : null,
      itl_ms: this.#itl.totalCount > 0 ? percentilesOf(this.#itl) : null,
      tokens_mean: this.#streams > 0 ? r2(this.#tokens / this.#streams) : null,
      latency_scv: n > 1 && mean > 0 ? Math.round((Math.max(0, variance) / (mean * mean)) * 1e4) / 1e4 : null,
    }
  }
}
