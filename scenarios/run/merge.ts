// Shard runs -> one run, exactly: the engine result a single generator would have returned had it sent
// every shard's requests (scenarios/README.md, "Scaling out"). Counts add; every latency histogram
// (overall, per scenario, TTFT, ITL, TPOT by cache status, Server-Timing, send lag) is decoded from
// the shards' histograms.json and added bucket by bucket (engines/hdr.ts), so the merged percentiles
// are those of one histogram holding every shard's values; the extremes are the least and the greatest
// of the shards'. Per second, the shards' counts add and the percentiles are read from their samples
// put together (exact while each shard kept every value of the second, up to 500). What cannot add,
// each generator's own health, is judged shard by shard: the merged run is inconclusive when any
// generator may have been the limit.
import { basename } from 'node:path'
import type { GeneratorHealth, LatencyStats, RunSummary, ShardResult } from '../../reports/src/summary.ts'
import {
  addStreamGroup,
  encodeHistogram,
  encodeStreamGroup,
  HDR_ENCODING,
  HISTOGRAMS_VERSION,
  mergeEncoded,
  type RunHistograms,
} from '../engines/hdr.ts'
import type { EngineResult, ScenarioStats, Tick } from '../engines/plan.ts'
import { CACHE_STATUSES, type CacheStatus, errorRate, secondPercentiles } from '../engines/recorder.ts'
import {
  type ExecutionSegment,
  formatSegment,
  isWhole,
  parseExecutionSegment,
  WHOLE,
} from '../engines/segment.ts'
import {
  bucketIndex,
  HISTOGRAM_BOUNDS_MS,
  histogramBuckets,
  lagStats,
  latencyStats,
  StreamGroup,
  summaryOf,
} from '../engines/stats.ts'
import type { ScenarioName } from '../scenario.ts'
import { generatorHealth } from './generator-verdict.ts'
import { readHistograms, readSamples, readTicks, type SamplesFile } from './run-files.ts'

/** Why shard runs cannot be merged; exitCode 2 for directories that do not belong together, 1 for a missing shard. */
export class MergeError extends Error {
  readonly exitCode: 1 | 2
  constructor(message: string, exitCode: 1 | 2) {
    super(message)
    this.name = 'MergeError'
    this.exitCode = exitCode
  }
}

export type ShardRun = {
  readonly dir: string
  readonly summary: RunSummary
  readonly segment: ExecutionSegment
  readonly histograms: RunHistograms
  readonly samples: SamplesFile
  readonly ticks: readonly Tick[]
}

/** A shard run's files; `summary` is the parsed summary.json (read by the caller). */
export function readShard(dir: string, summary: RunSummary): ShardRun {
  const histograms = readHistograms(dir)
  if (!histograms)
    throw new MergeError(
      `${dir}: no histograms.json (written by the native engine of this harness): its percentiles cannot be merged exactly`,
      2,
    )
  const s = summary.run.segment
  return {
    dir,
    summary,
    segment: s ? parseExecutionSegment(s.segment, s.sequence) : WHOLE,
    histograms,
    samples: readSamples(dir),
    ticks: readTicks(dir),
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** The shards in segment order; throws when they are not one split run, or when a segment is missing. */
export function orderShards(shards: readonly ShardRun[]): ShardRun[] {
  if (shards.length === 0) throw new MergeError('no shard to merge', 2)
  const first = shards[0].summary
  for (const { dir, summary } of shards.slice(1)) {
    for (const key of ['tier', 'engine', 'load_model', 'duration_scale', 'seed', 'arrival'] as const)
      if (summary.run[key] !== first.run[key])
        throw new MergeError(
          `${dir} ran ${key} ${summary.run[key]}, ${shards[0].dir} ${first.run[key]}: not shards of one run`,
          2,
        )
    if (!same(summary.tier, first.tier))
      throw new MergeError(
        `${dir} ran another definition of tier ${first.tier.name}: not shards of one run`,
        2,
      )
    if (summary.run.segment?.sequence !== first.run.segment?.sequence)
      throw new MergeError(
        `${dir} was cut by the sequence ${summary.run.segment?.sequence ?? '0,1'}, ${shards[0].dir} by ${first.run.segment?.sequence ?? '0,1'}: shards must share one`,
        2,
      )
  }
  if (first.run.engine !== 'native') throw new MergeError('only native-engine runs merge', 2)
  const ordered = [...shards].sort((a, b) => fractionOf(a.segment.from) - fractionOf(b.segment.from))
  let reached: ExecutionSegment['from'] = [0, 1]
  for (const shard of ordered) {
    const from = fractionOf(shard.segment.from)
    if (from < fractionOf(reached))
      throw new MergeError(`${shard.dir} (${formatSegment(shard.segment)}) overlaps another shard`, 2)
    if (from > fractionOf(reached))
      throw new MergeError(
        `no shard ran the segment ${formatSegment({ ...WHOLE, from: reached, to: shard.segment.from })}: the merged run would miss its requests`,
        1,
      )
    reached = shard.segment.to
  }
  if (fractionOf(reached) < 1)
    throw new MergeError(
      `no shard ran the segment ${formatSegment({ ...WHOLE, from: reached, to: [1, 1] })}: the merged run would miss its requests`,
      1,
    )
  return ordered
}

const fractionOf = ([n, d]: readonly [number, number]) => n / d
const r2 = (value: number) => Math.round(value * 100) / 100
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0)
const maxOf = (values: readonly (number | undefined)[]) => {
  const known = values.filter((v): v is number => v !== undefined)
  return known.length === 0 ? undefined : Math.max(...known)
}

/** Extremes of latency stats: the least min and the greatest max. */
function extremes(stats: readonly (LatencyStats | undefined)[]): { min: number; max: number } | undefined {
  const known = stats.filter((s): s is LatencyStats => s !== undefined)
  if (known.length === 0) return undefined
  return { min: Math.min(...known.map((s) => s.min)), max: Math.max(...known.map((s) => s.max)) }
}

/** The engine result of the whole run, from its shards (in segment order). */
export function mergeResults(shards: readonly ShardRun[]): EngineResult {
  const summaries = shards.map((s) => s.summary)
  const hist = shards.map((s) => s.histograms)
  const percentile = summaries[0].tier.latency_target.percentile
  const latency = mergeEncoded(hist.map((h) => h.latency))
  const streams = new StreamGroup()
  for (const h of hist) addStreamGroup(streams, h.streams)
  const proxy = mergeEncoded(hist.map((h) => h.proxy))
  const upstream = mergeEncoded(hist.map((h) => h.upstream))
  const lag = mergeEncoded(hist.map((h) => h.send_lag))
  const steady = {
    requests: sum(hist.map((h) => h.steady.requests)),
    span_s: Math.max(...hist.map((h) => h.steady.span_s)),
  }
  const { scenarios, encoded } = mergeScenarios(shards)
  const totals = summaries.map((s) => s.totals)
  const dropped = totals.some((t) => t.dropped_iterations !== undefined)
  const maxLatency = extremes(totals.map((t) => t.latency_ms))
  const generators = summaries.map((s) => s.generator)
  const lagMax = maxOf(generators.map((g) => g?.send_lag_ms?.max))
  const xCache = totals.some((t) => t.x_cache) ? sumCache(totals.map((t) => t.x_cache)) : undefined
  const { ticks, samples, streamSamples } = mergeSeconds(shards)
  const mergedHistograms: RunHistograms = {
    schema_version: HISTOGRAMS_VERSION,
    encoding: HDR_ENCODING,
    unit: 'us',
    ...defined({
      latency: encodeHistogram(latency),
      proxy: encodeHistogram(proxy),
      upstream: encodeHistogram(upstream),
      send_lag: encodeHistogram(lag),
      streams: encodeStreamGroup(streams),
    }),
    scenarios: encoded,
    steady,
  }
  return {
    engine: 'native',
    engineVersion: summaries[0].run.engine_version ?? 'native',
    loadModel: summaries[0].run.load_model,
    startedAt: new Date(Math.min(...summaries.map((s) => Date.parse(s.run.started_at)))).toISOString(),
    endedAt: new Date(Math.max(...summaries.map((s) => Date.parse(s.run.ended_at)))).toISOString(),
    durationS: Math.max(...summaries.map((s) => s.run.duration_s)),
    requests: sum(totals.map((t) => t.requests)),
    errors: sum(totals.map((t) => t.errors)),
    ...defined({ latency_ms: latencyStats(latency, maxLatency) }),
    latencyAtTargetMs: latency.totalCount === 0 ? null : r2(latency.getValueAtPercentile(percentile) / 1000),
    ...streams.stats(),
    scenarios,
    ticks,
    histogram: mergeBuckets(summaries, maxLatency?.max ?? 0),
    errorsByKind: sumRecords(summaries.map((s) => s.errors_by_kind)),
    ...(dropped ? { droppedIterations: sum(totals.map((t) => t.dropped_iterations ?? 0)) } : {}),
    ...(lag.totalCount > 0 ? { sendLagMs: lagStats(lag, lagMax) } : {}),
    steadyRps: steady.span_s > 0 ? r2(steady.requests / steady.span_s) : 0,
    steadySpanS: steady.span_s,
    intendedRps: summaries[0].tier.expected_rps,
    cpu: {
      mean: maxOf(generators.map((g) => g?.cpu_percent_mean)) ?? 0,
      max: maxOf(generators.map((g) => g?.cpu_percent_max)) ?? 0,
    },
    ...(proxy.totalCount > 0
      ? {
          serverTiming: {
            requests: proxy.totalCount,
            proxy_ms: summaryOf(proxy),
            ...(upstream.totalCount > 0 ? { upstream_ms: summaryOf(upstream) } : {}),
          },
        }
      : {}),
    samples,
    streamSamples,
    ...(xCache ? { xCache } : {}),
    histograms: mergedHistograms,
    notes: [],
    raw: { merged_from: shards.map((s) => ({ dir: s.dir, run_id: s.summary.run.id })) },
  }
}

function mergeScenarios(shards: readonly ShardRun[]): {
  scenarios: ScenarioStats[]
  encoded: RunHistograms['scenarios']
} {
  const names = [
    ...new Set(
      shards.flatMap((s) => [
        ...Object.keys(s.histograms.scenarios),
        ...s.summary.scenarios.map((x) => x.name),
      ]),
    ),
  ]
  const scenarios: ScenarioStats[] = []
  const encoded: RunHistograms['scenarios'] = {}
  for (const name of names) {
    const results = shards.flatMap((s) => s.summary.scenarios.filter((x) => x.name === name && !x.skipped))
    const parts = shards.flatMap((s) => s.histograms.scenarios[name] ?? [])
    if (parts.length === 0) continue
    const latency = mergeEncoded(parts.map((p) => p.latency))
    const streams = new StreamGroup()
    for (const p of parts) addStreamGroup(streams, p.streams)
    scenarios.push({
      name: name as ScenarioName,
      requests: sum(results.map((r) => r.requests)),
      errors: sum(results.map((r) => r.errors)),
      ...defined({ latency_ms: latencyStats(latency, extremes(results.map((r) => r.latency_ms))) }),
      ...streams.stats(),
    })
    encoded[name] = defined({ latency: encodeHistogram(latency), streams: encodeStreamGroup(streams) })
  }
  return { scenarios, encoded }
}

/** Second by second: counts add, percentiles from the shards' samples together, generator gauges the worst. */
function mergeSeconds(shards: readonly ShardRun[]) {
  const seconds = Math.max(...shards.map((s) => s.ticks.length))
  const ticks: Tick[] = []
  const samples: number[][] = []
  const ttftSamples: number[][] = []
  const itlSamples: number[][] = []
  for (let i = 0; i < seconds; i++) {
    const these = shards.flatMap((s) => s.ticks[i] ?? [])
    const pool = (pick: (f: SamplesFile) => readonly (readonly number[])[] | undefined) =>
      shards.flatMap((s) => pick(s.samples)?.[i] ?? [])
    const latencies = pool((f) => f.latency_ms)
    const ttft = pool((f) => f.ttft_ms)
    const itl = pool((f) => f.itl_ms)
    const requests = sum(these.map((t) => t.requests ?? 0))
    const errors = sum(these.map((t) => t.errors))
    const loopDelay = maxOf(these.map((t) => t.loop_delay_p95_ms))
    const loopUtilization = maxOf(these.map((t) => t.loop_utilization))
    ticks.push({
      t: these[0]?.t ?? i + 1,
      requests,
      errors,
      rps: r2(sum(these.map((t) => t.rps))),
      error_rate: errorRate(errors, requests),
      ...secondPercentiles(latencies, ttft, itl),
      active_users: sum(these.map((t) => t.active_users)),
      cpu_percent: maxOf(these.map((t) => t.cpu_percent)) ?? 0,
      dropped: sum(these.map((t) => t.dropped)),
      ...(loopDelay !== undefined ? { loop_delay_p95_ms: loopDelay } : {}),
      ...(loopUtilization !== undefined ? { loop_utilization: loopUtilization } : {}),
    })
    samples.push(latencies)
    ttftSamples.push(ttft)
    itlSamples.push(itl)
  }
  return { ticks, samples, streamSamples: { ttft: ttftSamples, itl: itlSamples } }
}

/** The report's latency buckets: counts add, bucket by bucket of the one ladder (stats.ts). */
function mergeBuckets(summaries: readonly RunSummary[], maxMs: number) {
  const counts = new Float64Array(HISTOGRAM_BOUNDS_MS.length + 1)
  for (const s of summaries)
    for (const b of s.latency_histogram?.buckets ?? [])
      counts[bucketIndex(HISTOGRAM_BOUNDS_MS, b.le_ms)] += b.count
  return histogramBuckets(counts, maxMs)
}

function sumRecords(records: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const total: Record<string, number> = {}
  for (const record of records) for (const [k, v] of Object.entries(record)) total[k] = (total[k] ?? 0) + v
  return total
}

function sumCache(counts: readonly (Readonly<Record<CacheStatus, number>> | undefined)[]) {
  const total = { hit: 0, miss: 0, bypass: 0, none: 0 }
  for (const c of counts) for (const status of CACHE_STATUSES) total[status] += c?.[status] ?? 0
  return total
}

/** The object without its undefined values. */
function defined<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
}

/** Each shard as the merged summary lists it. */
export function shardResults(shards: readonly ShardRun[]): ShardResult[] {
  return shards.map(({ summary, segment }) => ({
    run_id: summary.run.id,
    segment: formatSegment(segment),
    status: summary.status,
    ...(summary.status_reason ? { status_reason: summary.status_reason } : {}),
    requests: summary.totals.requests,
    errors: summary.totals.errors,
    ...(summary.totals.rps_after_ramp_up !== undefined
      ? { rps_after_ramp_up: summary.totals.rps_after_ramp_up }
      : {}),
    started_at: summary.run.started_at,
    ...(summary.run.segment?.start_lag_ms !== undefined
      ? { start_lag_ms: summary.run.segment.start_lag_ms }
      : {}),
    generator_limited: summary.generator?.limited === true,
  }))
}

/**
 * The generators judged one by one: each shard ran on its own generator, so the merged run may have
 * been limited by any of them. Rates and delays are the worst shard's; send lag from the merged histogram.
 */
export function mergedGenerator(shards: readonly ShardRun[], result: EngineResult): GeneratorHealth {
  const generators = shards.map((s) => ({ segment: formatSegment(s.segment), g: s.summary.generator }))
  const reasons = generators.flatMap(({ segment, g }) =>
    g?.limited
      ? (g.reasons ?? [g.note ?? 'it may have been the limit']).map((r) => `shard ${segment}: ${r}`)
      : [],
  )
  const delay = generators.flatMap(({ g }) => (g?.event_loop_delay_ms ? [g.event_loop_delay_ms] : []))
  return generatorHealth(
    result,
    {
      ...(delay.length > 0
        ? {
            eventLoopDelayMs: {
              p50: Math.max(...delay.map((d) => d.p50)),
              p99: Math.max(...delay.map((d) => d.p99)),
              max: Math.max(...delay.map((d) => d.max)),
            },
          }
        : {}),
      utilization: maxOf(generators.map(({ g }) => g?.event_loop_utilization)),
    },
    reasons,
  )
}

/** What the merged summary says about how it was made. */
export function mergeNotes(shards: readonly ShardRun[], result: EngineResult): string[] {
  const lags = shards.flatMap((s) =>
    s.summary.run.segment?.start_lag_ms === undefined ? [] : [s.summary.run.segment.start_lag_ms],
  )
  const segments = shards.map((s) => formatSegment(s.segment)).join(', ')
  const whole = shards.length === 1 && isWhole(shards[0].segment)
  return [
    `merged from ${shards.length} shard${shards.length === 1 ? '' : 's'} (${whole ? 'the whole schedule' : `execution segments ${segments}`}: ${shards.map((s) => basename(s.dir)).join(', ')}), each its own generator sending its share of one run's arrivals, users and requests; every latency histogram merged exactly (HDR), per-second percentiles from the shards' samples together.`,
    ...(lags.length > 0
      ? [
          `the shards started their schedules at most ${r2(Math.max(...lags))} ms after their common start time.`,
        ]
      : []),
    `generator CPU, the busiest shard: mean ${result.cpu.mean} %, max ${result.cpu.max} % of one core.`,
  ]
}
