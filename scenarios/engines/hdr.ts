// A run's latency histograms in a lossless, mergeable form (`histograms.json` beside summary.json):
// every HDR histogram the summary's percentiles were read from, serialized in HdrHistogram's
// compressed format (V2 encoding, deflate, base64; values in µs). Histograms of the same precision add
// bucket by bucket, so the histogram of several runs (the shards of a split run) is exactly the one a
// single run holding all their requests would have built, and so are its percentiles and its mean.
// A summary's min and max are the recorded values themselves (an encoded histogram keeps only their
// buckets): a merge takes them from the summaries, as the least and the greatest.
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js'
import { z } from 'zod'
import { CACHE_STATUSES, histogram, type StreamAccumulator, type StreamGroup } from './stats.ts'

export const HDR_ENCODING = 'hdr-histogram-v2-compressed-base64'
export const HISTOGRAMS_VERSION = 1

/** The histogram in HdrHistogram's compressed base64 form; undefined when it is empty. */
export function encodeHistogram(h: Histogram): string | undefined {
  return h.totalCount === 0 ? undefined : encodeIntoCompressedBase64(h)
}

/** Adds an encoded histogram (absent: empty) into `into`. */
export function addEncoded(into: Histogram, encoded: string | undefined): Histogram {
  if (encoded !== undefined) into.add(decodeFromCompressedBase64(encoded, 32, false))
  return into
}

/** One histogram holding every encoded one's values. */
export function mergeEncoded(encoded: readonly (string | undefined)[]): Histogram {
  const merged = histogram()
  for (const e of encoded) addEncoded(merged, e)
  return merged
}

const count = z.int().nonnegative()
const Encoded = z.string().min(1)

/** A group of streams (all of a run or a scenario, or those of one cache status). */
export const StreamHistograms = z.strictObject({
  streams: count,
  truncated: count,
  ttft: Encoded.optional(),
  itl: Encoded.optional(),
  /** Time per output token after the first, for tokens/s. */
  tpot: Encoded.optional(),
})
export type StreamHistograms = z.infer<typeof StreamHistograms>

export const StreamGroupHistograms = z.strictObject({
  all: StreamHistograms,
  by_cache: z.strictObject({
    hit: StreamHistograms.optional(),
    miss: StreamHistograms.optional(),
    bypass: StreamHistograms.optional(),
    none: StreamHistograms.optional(),
  }),
})
export type StreamGroupHistograms = z.infer<typeof StreamGroupHistograms>

export const RunHistograms = z.strictObject({
  schema_version: z.literal(HISTOGRAMS_VERSION),
  encoding: z.literal(HDR_ENCODING),
  unit: z.literal('us'),
  /** Answers, dropped arrivals' lower bounds and failures at least the median answer long: totals.latency_ms and the baseline. */
  latency: Encoded.optional(),
  /** Server-Timing: the proxy's own time and the upstream time of successful requests. */
  proxy: Encoded.optional(),
  upstream: Encoded.optional(),
  /** Open model: how late requests left against their intended time. */
  send_lag: Encoded.optional(),
  streams: StreamGroupHistograms.optional(),
  scenarios: z.record(
    z.string(),
    z.strictObject({ latency: Encoded.optional(), streams: StreamGroupHistograms.optional() }),
  ),
  /** Successful requests completed after the ramp-up, and the window they count in (the throughput baseline). */
  steady: z.strictObject({ requests: count, span_s: z.number().nonnegative() }),
})
export type RunHistograms = z.infer<typeof RunHistograms>

function encodeAccumulator(acc: StreamAccumulator): StreamHistograms {
  const ttft = encodeHistogram(acc.ttft)
  const itl = encodeHistogram(acc.itl)
  const tpot = encodeHistogram(acc.tpot)
  return {
    streams: acc.streams,
    truncated: acc.truncated,
    ...(ttft ? { ttft } : {}),
    ...(itl ? { itl } : {}),
    ...(tpot ? { tpot } : {}),
  }
}

function addAccumulator(acc: StreamAccumulator, encoded: StreamHistograms): void {
  acc.streams += encoded.streams
  acc.truncated += encoded.truncated
  addEncoded(acc.ttft, encoded.ttft)
  addEncoded(acc.itl, encoded.itl)
  addEncoded(acc.tpot, encoded.tpot)
}

/** A group's streams, encoded; undefined when it saw none. */
export function encodeStreamGroup(group: StreamGroup): StreamGroupHistograms | undefined {
  if (group.all.streams === 0) return undefined
  const byCache: StreamGroupHistograms['by_cache'] = {}
  for (const status of CACHE_STATUSES) {
    const acc = group.byCache.get(status)
    if (acc && acc.streams > 0) byCache[status] = encodeAccumulator(acc)
  }
  return { all: encodeAccumulator(group.all), by_cache: byCache }
}

/** Adds encoded streams (absent: none) into a group. */
export function addStreamGroup(group: StreamGroup, encoded: StreamGroupHistograms | undefined): void {
  if (!encoded) return
  addAccumulator(group.all, encoded.all)
  for (const status of CACHE_STATUSES) {
    const part = encoded.by_cache[status]
    if (part) addAccumulator(group.forCache(status), part)
  }
}
