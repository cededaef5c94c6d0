// Measurement -> aggregation, shared by both engines: every finished request becomes an Outcome;
// the recorder folds it into run totals, per-scenario figures, the latency histogram and fixed-width
// time buckets (by completion time), and closes a bucket into a Tick once its end has passed.
//
// An arrival the open model dropped (every connection busy) is a request too: it counts as failed
// (`dropped`) in the bucket it was dropped in, and its latency is what it would have had at the very
// least: it could not have started before a connection freed up, so it waited until the next request
// finished (or until the end of the run when none did). That lower bound goes into the latency
// percentiles, so a stall that filled every connection cannot hide behind the requests it turned away.
//
// A failure is in the latency percentiles at the time it took when it lasted at least as long as the
// median answer so far (a timeout after 30 s, a reset after a wait, a stream cut mid-way, a request
// the drain cut): the client waited that long, and leaving it out let 9 % of requests time out at
// 30 s under a p95 of 5 ms. A failure faster than the median answer (a 503 shed in 2 ms, a refused
// connection) is left out: counted at its own time it would pull every percentile down, a target
// shedding load reading faster than one answering; the error rate judges it. From the median up, a
// failure moves the percentiles as an answer of that length would. Until the first answer there is
// no median to compare with, and failures are left out (autocannon reports its timeouts as 0 ms).
import type { Histogram } from 'hdr-histogram-js'
import type { TimePoint } from '../../reports/src/summary.ts'
import type { Random } from '../random.ts'
import type { ScenarioName } from '../scenario.ts'
import type { LoopReading } from './gauges.ts'
import {
  encodeHistogram,
  encodeStreamGroup,
  HDR_ENCODING,
  HISTOGRAMS_VERSION,
  type RunHistograms,
} from './hdr.ts'
import type { ScenarioStats, ServerTimingStats, Tick } from './plan.ts'
import {
  bucketIndex,
  CACHE_STATUSES,
  type CacheStatus,
  HISTOGRAM_BOUNDS_MS,
  histogram,
  histogramBuckets,
  latencyStats,
  percentileSorted,
  recordMs,
  StreamGroup,
  summaryOf,
} from './stats.ts'

export { CACHE_STATUSES, type CacheStatus }

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
  /** The proxy's own time from Server-Timing (`proxy;dur=`), NaN when absent. */
  readonly proxyMs: number
  /** The upstream time from Server-Timing (`upstream;dur=`), NaN when absent. */
  readonly upstreamMs?: number
  /** From the x-cache header; absent counts as `none`. */
  readonly cache?: CacheStatus
}

export type RecorderOptions = {
  readonly bucketS: number
  readonly samplesPerBucket: number
  readonly random: Random
  readonly scenarios: readonly ScenarioName[]
  /** Successful requests completing in [from, to) (ms) count towards the steady-state rate. */
  readonly steadyWindowMs: { readonly from: number; readonly to: number }
  /** Sampled when a bucket closes. */
  readonly gauges: () => { activeUsers: number; cpuPercent: number; loop?: LoopReading }
  readonly onTick?: (tick: Tick) => void
}

type Bucket = {
  index: number
  requests: number
  errors: number
  dropped: number
  latencies: number[]
  ttft: number[]
  itl: number[]
}

class ScenarioAccumulator {
  requests = 0
  errors = 0
  readonly latency: Histogram = histogram()
  readonly streams = new StreamGroup()
}

const r2 = (value: number) => Math.round(value * 100) / 100

export class Recorder {
  readonly #options: RecorderOptions
  readonly #bucketMs: number
  readonly #latency = histogram()
  /** Successful requests only: their median says which failures were fast. */
  readonly #answers = histogram()
  readonly #proxy = histogram()
  readonly #upstream = histogram()
  readonly #streams = new StreamGroup()
  readonly #counts = new Float64Array(HISTOGRAM_BOUNDS_MS.length + 1)
  readonly #scenarios = new Map<ScenarioName, ScenarioAccumulator>()
  readonly #errorsByKind: Record<string, number> = {}
  readonly #ticks: Tick[] = []
  readonly #samples: number[][] = []
  readonly #ttftSamples: number[][] = []
  readonly #itlSamples: number[][] = []
  /** Successful requests by the proxy's x-cache answer. */
  readonly #xCache: Record<CacheStatus, number> = { hit: 0, miss: 0, bypass: 0, none: 0 }
  /** Intended send times (ms) of dropped arrivals still waiting for a connection to free up. */
  #waiting: number[] = []
  #bucket: Bucket
  #requests = 0
  #errors = 0
  #dropped = 0
  #steady = 0
  #cpu: number[] = []
  /** The median answer so far (ms), refreshed as each bucket closes; undefined before the first answer. */
  #medianAnswerMs: number | undefined

  constructor(options: RecorderOptions) {
    this.#options = options
    this.#bucketMs = options.bucketS * 1000
    for (const name of options.scenarios) this.#scenarios.set(name, new ScenarioAccumulator())
    this.#bucket = emptyBucket(0)
  }

  record(o: Outcome): void {
    this.advance(o.endMs)
    this.#release(o.endMs)
    const scenario = this.#scenarios.get(o.scenario) ?? this.#addScenario(o.scenario)
    const bucket = this.#bucket
    this.#requests++
    scenario.requests++
    bucket.requests++
    if (o.stream) {
      const s = o.stream
      const cache = o.cache ?? 'none'
      this.#streams.add(s, o.latencyMs, cache)
      scenario.streams.add(s, o.latencyMs, cache)
      // The time series follows generations: a cache replay's TTFT is the proxy's, not a model's.
      if (cache !== 'hit') {
        if (!Number.isNaN(s.ttftMs)) bucket.ttft.push(s.ttftMs)
        for (const gap of s.itlMs) bucket.itl.push(gap)
      }
    }
    if (!o.ok) {
      this.#fail(scenario, o.kind ?? 'error')
      if (this.#medianAnswerMs !== undefined && o.latencyMs >= this.#medianAnswerMs)
        this.#addLatency(o.latencyMs)
      return
    }
    const { from, to } = this.#options.steadyWindowMs
    if (o.endMs >= from && o.endMs < to) this.#steady++
    this.#xCache[o.cache ?? 'none']++
    recordMs(scenario.latency, o.latencyMs)
    recordMs(this.#answers, o.latencyMs)
    this.#medianAnswerMs ??= o.latencyMs
    this.#addLatency(o.latencyMs)
    if (!Number.isNaN(o.proxyMs)) recordMs(this.#proxy, o.proxyMs)
    if (o.upstreamMs !== undefined && !Number.isNaN(o.upstreamMs)) recordMs(this.#upstream, o.upstreamMs)
  }

  /** An arrival the open model could not send at its intended time (ms): every connection was busy. */
  drop(intendedMs: number): void {
    this.advance(intendedMs)
    this.#requests++
    this.#dropped++
    this.#bucket.requests++
    this.#bucket.dropped++
    this.#fail(null, 'dropped')
    this.#waiting.push(intendedMs)
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
   * Dropped arrivals still waiting for a connection waited until now, the end of the run.
   */
  finish(nowMs: number): void {
    this.advance(nowMs)
    this.#release(nowMs)
    if (this.#bucket.requests > 0 || this.#bucket.latencies.length > 0)
      this.#close(this.#bucket, this.#bucketMs)
    this.#bucket = emptyBucket(this.#bucket.index + 1)
  }

  #fail(scenario: ScenarioAccumulator | null, kind: string): void {
    this.#errors++
    this.#bucket.errors++
    if (scenario) scenario.errors++
    this.#errorsByKind[kind] = (this.#errorsByKind[kind] ?? 0) + 1
  }

  /** A request finished at `atMs`, so a connection freed up: the waiting dropped arrivals waited this long. */
  #release(atMs: number): void {
    if (this.#waiting.length === 0) return
    for (const intendedMs of this.#waiting) this.#addLatency(Math.max(0, atMs - intendedMs))
    this.#waiting = []
  }

  #addLatency(ms: number): void {
    recordMs(this.#latency, ms)
    this.#counts[bucketIndex(HISTOGRAM_BOUNDS_MS, ms)]++
    this.#bucket.latencies.push(ms)
  }

  #close(bucket: Bucket, spanMs: number): void {
    if (this.#answers.totalCount > 0) this.#medianAnswerMs = this.#answers.getValueAtPercentile(50) / 1000
    const gauges = this.#options.gauges()
    this.#cpu.push(gauges.cpuPercent)
    const tick: Tick = {
      t: r2(bucket.index * this.#options.bucketS + spanMs / 1000),
      requests: bucket.requests,
      errors: bucket.errors,
      rps: r2(bucket.requests / (spanMs / 1000)),
      error_rate: errorRate(bucket.errors, bucket.requests),
      ...secondPercentiles(bucket.latencies, bucket.ttft, bucket.itl),
      active_users: gauges.activeUsers,
      cpu_percent: r2(gauges.cpuPercent),
      dropped: bucket.dropped,
      ...(gauges.loop
        ? { loop_delay_p95_ms: r2(gauges.loop.delayP95Ms), loop_utilization: r2(gauges.loop.utilization) }
        : {}),
    }
    this.#ticks.push(tick)
    this.#samples.push(this.#sample(bucket.latencies))
    this.#ttftSamples.push(this.#sample(bucket.ttft))
    this.#itlSamples.push(this.#sample(bucket.itl))
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
      return {
        name,
        requests: acc.requests,
        errors: acc.errors,
        ...(latency ? { latency_ms: latency } : {}),
        ...acc.streams.stats(),
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
      ...this.#streams.stats(),
      scenarios,
      ticks: this.#ticks,
      histogram: histogramBuckets(this.#counts, latency?.max ?? 0),
      errorsByKind: { ...this.#errorsByKind },
      steadyRps: steadySpanS > 0 ? r2(this.#steady / steadySpanS) : 0,
      cpu: {
        mean: cpu.length === 0 ? 0 : r2(cpu.reduce((a, b) => a + b, 0) / cpu.length),
        max: cpu.length === 0 ? 0 : r2(Math.max(...cpu)),
      },
      serverTiming: this.#serverTiming(),
      samples: this.#samples,
      streamSamples: { ttft: this.#ttftSamples, itl: this.#itlSamples },
      xCache: { ...this.#xCache },
      histograms: this.#histograms(steadySpanS),
    }
  }

  /** Every histogram above, encoded losslessly, and the exact steady count: what a merge of runs needs. */
  #histograms(steadySpanS: number): RunHistograms {
    const scenarios: RunHistograms['scenarios'] = {}
    for (const [name, acc] of this.#scenarios) {
      const latency = encodeHistogram(acc.latency)
      const streams = encodeStreamGroup(acc.streams)
      scenarios[name] = { ...(latency ? { latency } : {}), ...(streams ? { streams } : {}) }
    }
    const encoded = {
      latency: encodeHistogram(this.#latency),
      proxy: encodeHistogram(this.#proxy),
      upstream: encodeHistogram(this.#upstream),
      streams: encodeStreamGroup(this.#streams),
    }
    return {
      schema_version: HISTOGRAMS_VERSION,
      encoding: HDR_ENCODING,
      unit: 'us',
      ...(Object.fromEntries(Object.entries(encoded).filter(([, v]) => v !== undefined)) as Partial<
        typeof encoded
      >),
      scenarios,
      steady: { requests: this.#steady, span_s: steadySpanS },
    }
  }

  /** Arrivals dropped so far (the open model's cap). */
  get dropped(): number {
    return this.#dropped
  }

  #serverTiming(): ServerTimingStats | undefined {
    if (this.#proxy.totalCount === 0) return undefined
    return {
      requests: this.#proxy.totalCount,
      proxy_ms: summaryOf(this.#proxy),
      ...(this.#upstream.totalCount > 0 ? { upstream_ms: summaryOf(this.#upstream) } : {}),
    }
  }
}

export function errorRate(errors: number, requests: number): number {
  return requests === 0 ? 0 : Math.round((errors / requests) * 10_000) / 10_000
}

/** A time bucket's latency percentiles, and its generated streams' TTFT and ITL when it saw any. */
export function secondPercentiles(
  latencies: readonly number[],
  ttftMs: readonly number[],
  itlMs: readonly number[],
): Pick<
  TimePoint,
  'p50_ms' | 'p95_ms' | 'p99_ms' | 'ttft_p50_ms' | 'ttft_p95_ms' | 'itl_p50_ms' | 'itl_p95_ms'
> {
  const lat = Float64Array.from(latencies).sort()
  const ttft = Float64Array.from(ttftMs).sort()
  const itl = Float64Array.from(itlMs).sort()
  const at = (sorted: Float64Array, p: number) => {
    const v = percentileSorted(sorted, p)
    return v === null ? null : r2(v)
  }
  return {
    p50_ms: at(lat, 50),
    p95_ms: at(lat, 95),
    p99_ms: at(lat, 99),
    ...(ttft.length > 0 || itl.length > 0
      ? {
          ttft_p50_ms: at(ttft, 50),
          ttft_p95_ms: at(ttft, 95),
          itl_p50_ms: at(itl, 50),
          itl_p95_ms: at(itl, 95),
        }
      : {}),
  }
}

function emptyBucket(index: number): Bucket {
  return { index, requests: 0, errors: 0, dropped: 0, latencies: [], ttft: [], itl: [] }
}
