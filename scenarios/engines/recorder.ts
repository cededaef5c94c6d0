// Measurement -> aggregation, shared by both engines: every finished request becomes an Outcome;
// the recorder folds it into run totals, per-scenario figures, the latency histogram and fixed-width
// time buckets (by completion time), and closes a bucket into a Tick once its end has passed.
import type { Histogram } from 'hdr-histogram-js'
import type { Random } from '../random.ts'
import type { ScenarioName } from '../scenario.ts'
import type { ScenarioStats, Tick } from './plan.ts'
import {
  bucketIndex,
  HISTOGRAM_BOUNDS_MS,
  histogram,
  histogramBuckets,
  latencyStats,
  percentileSorted,
  recordMs,
  StreamAccumulator,
} from './stats.ts'

export type StreamOutcome = {
  /** NaN when no content chunk arrived. */
  readonly ttftMs: number
  readonly itlMs: readonly number[]
  readonly tokens: number
  readonly truncated: boolean
}

export type Outcome = {
  readonly scenario: ScenarioName
  readonly ok: boolean
  /** Error kind when not ok: http_<status>, timeout, reset, connect_refused, truncated_stream, ... */
  readonly kind: string | null
  /** From the (intended) start to the last byte. */
  readonly latencyMs: number
  /** Completion time, ms since the run started. */
  readonly endMs: number
  readonly stream: StreamOutcome | null
  /** The proxy's own time from Server-Timing, NaN when absent. */
  readonly proxyMs: number
}

export type RecorderOptions = {
  readonly bucketS: number
  readonly samplesPerBucket: number
  readonly random: Random
  readonly scenarios: readonly ScenarioName[]
  /** Requests completing in [from, to) (ms) count towards the steady-state rate. */
  readonly steadyWindowMs: { readonly from: number; readonly to: number }
  /** Sampled when a bucket closes. */
  readonly gauges: () => { activeUsers: number; cpuPercent: number; dropped: number }
  readonly onTick?: (tick: Tick) => void
}

type Bucket = {
  index: number
  requests: number
  errors: number
  latencies: number[]
  ttft: number[]
  itl: number[]
}

class ScenarioAccumulator {
  requests = 0
  errors = 0
  readonly latency: Histogram = histogram()
  readonly stream = new StreamAccumulator()
}

const r2 = (value: number) => Math.round(value * 100) / 100

export class Recorder {
  readonly #options: RecorderOptions
  readonly #bucketMs: number
  readonly #latency = histogram()
  readonly #proxy = histogram()
  readonly #stream = new StreamAccumulator()
  readonly #counts = new Float64Array(HISTOGRAM_BOUNDS_MS.length + 1)
  readonly #scenarios = new Map<ScenarioName, ScenarioAccumulator>()
  readonly #errorsByKind: Record<string, number> = {}
  readonly #ticks: Tick[] = []
  readonly #samples: number[][] = []
  #bucket: Bucket
  #requests = 0
  #errors = 0
  #steady = 0
  #lastDropped = 0
  #cpu: number[] = []

  constructor(options: RecorderOptions) {
    this.#options = options
    this.#bucketMs = options.bucketS * 1000
    for (const name of options.scenarios) this.#scenarios.set(name, new ScenarioAccumulator())
    this.#bucket = emptyBucket(0)
  }

  record(o: Outcome): void {
    this.advance(o.endMs)
    const scenario = this.#scenarios.get(o.scenario) ?? this.#addScenario(o.scenario)
    const bucket = this.#bucket
    this.#requests++
    scenario.requests++
    bucket.requests++
    if (o.endMs >= this.#options.steadyWindowMs.from && o.endMs < this.#options.steadyWindowMs.to)
      this.#steady++
    if (o.stream) {
      const s = o.stream
      this.#stream.streams++
      scenario.stream.streams++
      if (s.truncated) {
        this.#stream.truncated++
        scenario.stream.truncated++
      }
      if (!Number.isNaN(s.ttftMs)) {
        recordMs(this.#stream.ttft, s.ttftMs)
        recordMs(scenario.stream.ttft, s.ttftMs)
        bucket.ttft.push(s.ttftMs)
        if (s.tokens > 1) {
          const tpot = (o.latencyMs - s.ttftMs) / (s.tokens - 1)
          recordMs(this.#stream.tpot, tpot)
          recordMs(scenario.stream.tpot, tpot)
        }
      }
      for (const gap of s.itlMs) {
        recordMs(this.#stream.itl, gap)
        recordMs(scenario.stream.itl, gap)
        bucket.itl.push(gap)
      }
    }
    if (!o.ok) {
      // Latency is reported for successful requests only: a fast 503 must not improve p95.
      this.#errors++
      scenario.errors++
      bucket.errors++
      const kind = o.kind ?? 'error'
      this.#errorsByKind[kind] = (this.#errorsByKind[kind] ?? 0) + 1
      return
    }
    recordMs(this.#latency, o.latencyMs)
    recordMs(scenario.latency, o.latencyMs)
    this.#counts[bucketIndex(HISTOGRAM_BOUNDS_MS, o.latencyMs)]++
    bucket.latencies.push(o.latencyMs)
    if (!Number.isNaN(o.proxyMs)) recordMs(this.#proxy, o.proxyMs)
  }

  /** Closes every bucket that ended at or before `nowMs`. */
  advance(nowMs: number): void {
    while ((this.#bucket.index + 1) * this.#bucketMs <= nowMs) {
      this.#close(this.#bucket, this.#bucketMs)
      this.#bucket = emptyBucket(this.#bucket.index + 1)
    }
  }

  /**
   * Closes the last, partial bucket when it saw a request. It is reported as a whole bucket (rate over
   * the full width), so a few requests finishing just after a bucket boundary do not read as a spike.
   */
  finish(nowMs: number): void {
    this.advance(nowMs)
    if (this.#bucket.requests > 0) this.#close(this.#bucket, this.#bucketMs)
    this.#bucket = emptyBucket(this.#bucket.index + 1)
  }

  #close(bucket: Bucket, spanMs: number): void {
    const gauges = this.#options.gauges()
    this.#cpu.push(gauges.cpuPercent)
    const lat = Float64Array.from(bucket.latencies).sort()
    const ttft = Float64Array.from(bucket.ttft).sort()
    const itl = Float64Array.from(bucket.itl).sort()
    const at = (sorted: Float64Array, p: number) => {
      const v = percentileSorted(sorted, p)
      return v === null ? null : r2(v)
    }
    const tick: Tick = {
      t: r2(bucket.index * this.#options.bucketS + spanMs / 1000),
      requests: bucket.requests,
      errors: bucket.errors,
      rps: r2(bucket.requests / (spanMs / 1000)),
      error_rate: bucket.requests === 0 ? 0 : Math.round((bucket.errors / bucket.requests) * 10_000) / 10_000,
      p50_ms: at(lat, 50),
      p95_ms: at(lat, 95),
      p99_ms: at(lat, 99),
      active_users: gauges.activeUsers,
      ...(ttft.length > 0 || itl.length > 0
        ? {
            ttft_p50_ms: at(ttft, 50),
            ttft_p95_ms: at(ttft, 95),
            itl_p50_ms: at(itl, 50),
            itl_p95_ms: at(itl, 95),
          }
        : {}),
      cpu_percent: r2(gauges.cpuPercent),
      dropped: gauges.dropped - this.#lastDropped,
    }
    this.#lastDropped = gauges.dropped
    this.#ticks.push(tick)
    this.#samples.push(this.#sample(bucket.latencies))
    this.#options.onTick?.(tick)
  }

  /** Up to samplesPerBucket latencies of the bucket, a uniform random subset beyond (Fisher-Yates). */
  #sample(latencies: number[]): number[] {
    const cap = this.#options.samplesPerBucket
    const kept = latencies.length <= cap ? latencies : latencies.slice()
    if (kept.length > cap) {
      for (let i = 0; i < cap; i++) {
        const j = i + Math.floor(this.#options.random() * (kept.length - i))
        const tmp = kept[i]
        kept[i] = kept[j]
        kept[j] = tmp
      }
      kept.length = cap
    }
    return kept.map(r2)
  }

  #addScenario(name: ScenarioName): ScenarioAccumulator {
    const acc = new ScenarioAccumulator()
    this.#scenarios.set(name, acc)
    return acc
  }

  get requests(): number {
    return this.#requests
  }

  get errors(): number {
    return this.#errors
  }

  summary(steadySpanS: number, latencyPercentile = 95) {
    const scenarios: ScenarioStats[] = [...this.#scenarios].map(([name, acc]) => {
      const latency = latencyStats(acc.latency)
      const stream = acc.stream.stats()
      return {
        name,
        requests: acc.requests,
        errors: acc.errors,
        ...(latency ? { latency_ms: latency } : {}),
        ...(stream ? { stream } : {}),
      }
    })
    const latency = latencyStats(this.#latency)
    const cpu = this.#cpu
    return {
      requests: this.#requests,
      errors: this.#errors,
      latency_ms: latency,
      latencyAtTargetMs:
        this.#latency.totalCount === 0
          ? null
          : r2(this.#latency.getValueAtPercentile(latencyPercentile) / 1000),
      stream: this.#stream.stats(),
      scenarios,
      ticks: this.#ticks,
      histogram: histogramBuckets(this.#counts, latency?.max ?? 0),
      errorsByKind: { ...this.#errorsByKind },
      steadyRps: steadySpanS > 0 ? r2(this.#steady / steadySpanS) : 0,
      cpu: {
        mean: cpu.length === 0 ? 0 : r2(cpu.reduce((a, b) => a + b, 0) / cpu.length),
        max: cpu.length === 0 ? 0 : r2(Math.max(...cpu)),
      },
      proxyTimeMs:
        this.#proxy.totalCount === 0
          ? undefined
          : {
              p50: r2(this.#proxy.getValueAtPercentile(50) / 1000),
              p95: r2(this.#proxy.getValueAtPercentile(95) / 1000),
              p99: r2(this.#proxy.getValueAtPercentile(99) / 1000),
              count: this.#proxy.totalCount,
            },
      samples: this.#samples,
    }
  }
}

function emptyBucket(index: number): Bucket {
  return { index, requests: 0, errors: 0, latencies: [], ttft: [], itl: [] }
}
