// Small statistics helpers shared by the engines: HDR histograms in microseconds (so sub-millisecond
// latencies keep three significant digits), nearest-rank percentiles of small arrays, and the
// report's latency-histogram ladder.
import { build, type Histogram } from 'hdr-histogram-js'
import type { LatencyStats, StreamStats } from '../../reports/src/summary.ts'
import type { StreamOutcome } from './recorder.ts'

export function histogram(): Histogram {
  return build({ numberOfSignificantValueDigits: 3, useWebAssembly: false })
}

export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)))
}

const r2 = (value: number) => Math.round(value * 100) / 100

/**
 * min, mean, p50..p99, max of an HDR histogram in µs, in ms, forced into non-decreasing order. A merged
 * histogram passes the recorded extremes (`extremesMs`, from the merged runs' summaries): a decoded one
 * knows only their buckets.
 */
export function latencyStats(
  h: Histogram,
  extremesMs?: { readonly min: number; readonly max: number },
): LatencyStats | undefined {
  if (h.totalCount === 0) return undefined
  const min = extremesMs?.min ?? r2(h.minNonZeroValue / 1000)
  const p50 = Math.max(min, r2(h.getValueAtPercentile(50) / 1000))
  const p90 = Math.max(p50, r2(h.getValueAtPercentile(90) / 1000))
  const p95 = Math.max(p90, r2(h.getValueAtPercentile(95) / 1000))
  const p99 = Math.max(p95, r2(h.getValueAtPercentile(99) / 1000))
  const max = Math.max(p99, extremesMs?.max ?? r2(h.maxValue / 1000))
  return { min, mean: r2(h.mean / 1000), p50, p90, p95, p99, max }
}

export function percentilesOf(h: Histogram): { p50: number; p90: number; p95: number; p99: number } {
  const s = latencyStats(h)
  return s ? { p50: s.p50, p90: s.p90, p95: s.p95, p99: s.p99 } : { p50: 0, p90: 0, p95: 0, p99: 0 }
}

/** Send lag (µs histogram) in ms: p50, p95, p99 at most the max (`maxMs`: the recorded one, for a merge). */
export function lagStats(h: Histogram, maxMs = h.maxValue / 1000) {
  if (h.totalCount === 0) return { p50: 0, p95: 0, p99: 0, max: 0 }
  const p99 = Math.min(maxMs, h.getValueAtPercentile(99) / 1000)
  const p95 = Math.min(p99, h.getValueAtPercentile(95) / 1000)
  return { p50: Math.min(p95, h.getValueAtPercentile(50) / 1000), p95, p99, max: maxMs }
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentileSorted(sorted: ArrayLike<number>, percentile: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length))
  return sorted[Math.min(sorted.length, rank) - 1]
}

/** Streaming measurements of one scenario or of the whole run. */
export class StreamAccumulator {
  readonly ttft = histogram()
  readonly itl = histogram()
  /** Time per output token after the first: (e2e - ttft) / (tokens - 1), vLLM's TPOT. */
  readonly tpot = histogram()
  streams = 0
  truncated = 0

  /** One finished stream; latencyMs is its whole time, for TPOT. */
  add(s: StreamOutcome, latencyMs: number): void {
    this.streams++
    if (s.truncated) this.truncated++
    if (!Number.isNaN(s.ttftMs)) {
      recordMs(this.ttft, s.ttftMs)
      if (s.tokens > 1) recordMs(this.tpot, (latencyMs - s.ttftMs) / (s.tokens - 1))
    }
    for (const gap of s.itlMs) recordMs(this.itl, gap)
  }

  stats(): StreamStats | undefined {
    if (this.streams === 0) return undefined
    const tpotMedianMs = this.tpot.totalCount === 0 ? 0 : this.tpot.getValueAtPercentile(50) / 1000
    return {
      streams: this.streams,
      // Null when no stream had content (or no second chunk): not measured, never 0 ms.
      ttft_ms: this.ttft.totalCount > 0 ? percentilesOf(this.ttft) : null,
      itl_ms: this.itl.totalCount > 0 ? percentilesOf(this.itl) : null,
      // The median stream's decoding speed; TPOT is floored at 1 µs, so a mock that sends every token at
      // once reads as 1e6 tokens/s rather than infinity.
      tokens_per_s: tpotMedianMs > 0 ? r2(1000 / tpotMedianMs) : 0,
      truncated: this.truncated,
      truncated_rate: Math.round((this.truncated / this.streams) * 10_000) / 10_000,
    }
  }
}

/** How the proxy's cache treated a request (its x-cache header); `none` when it sent none. */
export const CACHE_STATUSES = ['hit', 'miss', 'bypass', 'none'] as const
export type CacheStatus = (typeof CACHE_STATUSES)[number]

/** Stream figures of the whole run or a scenario, all streams and by cache status. */
export class StreamGroup {
  readonly all = new StreamAccumulator()
  readonly byCache = new Map<CacheStatus, StreamAccumulator>()

  add(s: StreamOutcome, latencyMs: number, cache: CacheStatus): void {
    this.all.add(s, latencyMs)
    this.forCache(cache).add(s, latencyMs)
  }

  forCache(cache: CacheStatus): StreamAccumulator {
    let acc = this.byCache.get(cache)
    if (!acc) {
      acc = new StreamAccumulator()
      this.byCache.set(cache, acc)
    }
    return acc
  }

  stats(): { stream?: StreamStats; stream_by_cache?: Partial<Record<CacheStatus, StreamStats>> } {
    const stream = this.all.stats()
    if (!stream) return {}
    const byCache: Partial<Record<CacheStatus, StreamStats>> = {}
    for (const status of CACHE_STATUSES) {
      const stats = this.byCache.get(status)?.stats()
      if (stats) byCache[status] = stats
    }
    return { stream, stream_by_cache: byCache }
  }
}

/** p50, p90, p95, p99 and the mean of a histogram in µs, in ms. */
export function summaryOf(h: Histogram): {
  p50: number
  p90: number
  p95: number
  p99: number
  mean: number
} {
  return { ...percentilesOf(h), mean: r2(h.mean / 1000) }
}

/** Bounds (ms) of the report's latency histogram: fine below 10 ms, where the mocks answer. */
export const HISTOGRAM_BOUNDS_MS: readonly number[] = [
  0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12.5, 15, 20, 25, 30, 40, 50, 60, 75, 100, 125, 150, 200,
  250, 300, 400, 500, 600, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10_000, 15_000, 20_000,
  30_000, 45_000, 60_000, 120_000, 300_000, 600_000,
]

export function bucketIndex(bounds: readonly number[], value: number): number {
  let low = 0
  let high = bounds.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (bounds[mid] >= value) high = mid
    else low = mid + 1
  }
  return low
}

/** Counts -> the summary's buckets, without empty leading and trailing buckets. */
export function histogramBuckets(
  counts: ArrayLike<number>,
  maxMs: number,
): { le_ms: number; count: number }[] {
  let first = -1
  let last = -1
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0) {
      if (first < 0) first = i
      last = i
    }
  }
  if (first < 0) return []
  const buckets: { le_ms: number; count: number }[] = []
  for (let i = first; i <= last; i++) {
    const le = i < HISTOGRAM_BOUNDS_MS.length ? HISTOGRAM_BOUNDS_MS[i] : Math.ceil(maxMs)
    buckets.push({ le_ms: le, count: counts[i] })
  }
  return buckets
}
