// The engine-neutral run summary: what every load run writes as summary.json and the only input
// of the report renderer and the CI gate. Field meanings are documented in reports/SUMMARY.md.
import { z } from 'zod'
import { tooFewForErrorRate } from './baseline.ts'

export const SCHEMA_VERSION = 3
/** Older versions parseSummary still reads (upgraded on read, see upgrade()). */
export const READABLE_VERSIONS: readonly number[] = [1, 2, 3]

const count = z.int().nonnegative()
const ms = z.number().nonnegative()
const fraction = z.number().min(0).max(1)
const seconds = z.number().nonnegative()

const ordered =
  (keys: readonly string[]) => (value: Record<string, number | undefined>, ctx: z.RefinementCtx) => {
    const present = keys.filter((key) => value[key] !== undefined)
    for (let i = 1; i < present.length; i++) {
      const lower = present[i - 1]
      const upper = present[i]
      if (value[lower]! > value[upper]!) {
        ctx.addIssue({ code: 'custom', path: [upper], message: `${upper} must be >= ${lower}` })
      }
    }
  }

/** Latency of completed requests, in milliseconds. */
export const LatencyStats = z
  .strictObject({ min: ms, mean: ms, p50: ms, p90: ms, p95: ms, p99: ms, max: ms })
  .superRefine(ordered(['min', 'p50', 'p90', 'p95', 'p99', 'max']))

export const Percentiles = z
  .strictObject({ p50: ms, p90: ms.optional(), p95: ms, p99: ms })
  .superRefine(ordered(['p50', 'p90', 'p95', 'p99']))

/**
 * Streaming (SSE) measurements: TTFT = first content chunk, ITL = every gap between chunks; null
 * when no stream gave one (none had content, or none a second chunk): not measured, not 0 ms.
 */
export const StreamStats = z.strictObject({
  streams: count,
  ttft_ms: Percentiles.nullable(),
  itl_ms: Percentiles.nullable(),
  tokens_per_s: z.number().nonnegative(),
  truncated: count,
  truncated_rate: fraction,
})

/**
 * The same stream measurements by how the proxy's cache answered (its x-cache header): `hit` streams
 * are replays of a stored answer, `miss` and `bypass` were generated upstream, `none` carried no
 * x-cache header. A replay's TTFT is the proxy's, not a model's: never read one for the other.
 */
export const StreamByCache = z.strictObject({
  hit: StreamStats.optional(),
  miss: StreamStats.optional(),
  bypass: StreamStats.optional(),
  none: StreamStats.optional(),
})

const TimingStats = z
  .strictObject({ p50: ms, p90: ms.optional(), p95: ms, p99: ms, mean: ms })
  .superRefine(ordered(['p50', 'p90', 'p95', 'p99']))

/**
 * Where the time went, from the proxy's own Server-Timing header (successful requests that carried
 * it): `proxy;dur` is the proxy's own time, `upstream;dur` the time waiting for providers. For a
 * stream the header is sent with the first byte, so both cover the time to the stream's opening.
 */
export const ServerTiming = z.strictObject({
  requests: count,
  proxy_ms: TimingStats,
  upstream_ms: TimingStats.optional(),
})

export const Run = z.strictObject({
  id: z.string().min(1),
  tier: z.string().min(1),
  engine: z.enum(['native', 'autocannon']),
  engine_version: z.string().optional(),
  started_at: z.iso.datetime({ offset: true }),
  ended_at: z.iso.datetime({ offset: true }),
  duration_s: seconds,
  duration_scale: z.number().positive(),
  seed: z.int(),
  target_url: z.url(),
  /** null when the run targeted an external proxy (--target) and started no mocks. */
  mock_profile: z.string().nullable(),
  load_model: z.enum(['open', 'closed']),
  /**
   * The proxy's settings the run's proxy took from the caller's environment (REDIS_URL, LOG_LEVEL,
   * ...), secrets as '(set)'; absent when none.
   */
  proxy_env: z.record(z.string(), z.string()).optional(),
  /** Node options the run's proxy was started with after its own: an experiment (load:ci --proxy-node-flags). */
  proxy_node_flags: z.array(z.string().min(1)).min(1).optional(),
  /** The mock providers' latency (the profile's typical values), when the run booted the mocks. */
  mock_latency: z.strictObject({ ttft_ms: ms, itl_ms: ms, description: z.string().optional() }).optional(),
  /** Open model: how arrivals were spaced. */
  arrival: z.enum(['constant', 'poisson']).optional(),
  /** Every target when the run spread its requests over several (request k to target k mod n); target_url is the first. */
  targets: z.array(z.url()).min(2).optional(),
  /** The execution segment this run ran: one shard of a split run (k6's execution segments). */
  segment: z
    .strictObject({
      segment: z.string().min(1),
      sequence: z.string().min(1),
      share: z.number().gt(0).max(1),
      /** Its share of the tier's users (the open model's in-flight cap). */
      users: count,
      /** Its share of the tier's arrival rate. */
      expected_rps: z.number().nonnegative(),
      /** When its schedule was to start (every shard the same), and how late it started. */
      start_at: z.iso.datetime({ offset: true }).optional(),
      start_lag_ms: ms.optional(),
    })
    .optional(),
  command: z.string(),
})

export const Environment = z.strictObject({
  node_version: z.string(),
  os: z.string(),
  arch: z.string().optional(),
  cpu_model: z.string(),
  cpu_count: z.int().positive(),
  total_memory_mb: z.number().positive(),
  git_commit: z.string().nullable(),
  generator_notes: z.array(z.string()).optional(),
})

export const TierDefinition = z.strictObject({
  name: z.string().min(1),
  users: z.int().positive(),
  duration_s: z.number().positive(),
  ramp_up_s: seconds,
  expected_rps: z.number().positive(),
  latency_target: z.strictObject({ percentile: z.number().gt(0).lt(100), max_ms: z.number().positive() }),
  error_rate_max: fraction,
  think_time_s: z
    .strictObject({ min: seconds, max: seconds })
    .refine((t) => t.min <= t.max, { message: 'min must be <= max', path: ['max'] })
    .optional(),
  scenarios: z.array(z.strictObject({ name: z.string().min(1), weight: z.number().nonnegative() })).min(1),
})

export const Totals = z.strictObject({
  requests: count,
  errors: count,
  error_rate: fraction,
  rps: z.number().nonnegative(),
  /** Successful requests per second completed after the ramp-up (the throughput baseline's figure). */
  rps_after_ramp_up: z.number().nonnegative().optional(),
  /** Open model: arrivals dropped because `users` requests were in flight; counted in requests and errors. */
  dropped_iterations: count.optional(),
  /** autocannon: requests sent but unanswered when it stopped, which it drops; `oldest_ms` is the longest wait. */
  in_flight_at_end: z.strictObject({ count, oldest_ms: ms }).optional(),
  /** Absent only when no request completed. */
  latency_ms: LatencyStats.optional(),
  stream: StreamStats.optional(),
  stream_by_cache: StreamByCache.optional(),
  server_timing: ServerTiming.optional(),
  /** Successful requests by the proxy's x-cache answer header (the cache hit rate as clients saw it). */
  x_cache: z.strictObject({ hit: count, miss: count, bypass: count, none: count }).optional(),
})

/** One shard of a merged run (`npm run load:merge`). */
export const ShardResult = z.strictObject({
  run_id: z.string().min(1),
  segment: z.string().min(1),
  status: z.enum(['passed', 'failed', 'inconclusive', 'broken']),
  status_reason: z.string().optional(),
  requests: count,
  errors: count,
  rps_after_ramp_up: z.number().nonnegative().optional(),
  started_at: z.iso.datetime({ offset: true }),
  start_lag_ms: ms.optional(),
  generator_limited: z.boolean(),
})

export const ScenarioResult = z
  .strictObject({
    name: z.string().min(1),
    weight: z.number().nonnegative(),
    requests: count,
    errors: count,
    error_rate: fraction,
    rps: z.number().nonnegative(),
    latency_ms: LatencyStats.optional(),
    stream: StreamStats.optional(),
    stream_by_cache: StreamByCache.optional(),
    /** Present when the scenario could not run (e.g. its endpoint does not exist yet). */
    skipped: z.strictObject({ reason: z.string().min(1) }).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.errors > s.requests)
      ctx.addIssue({ code: 'custom', path: ['errors'], message: 'errors > requests' })
    if (s.skipped && s.requests > 0) {
      ctx.addIssue({ code: 'custom', path: ['skipped'], message: 'a skipped scenario has no requests' })
    }
  })

const nullableMs = ms.nullable()

/** One fixed-width bucket; latency fields are null when no request completed in it. */
export const TimePoint = z.strictObject({
  t: seconds,
  requests: count.optional(),
  rps: z.number().nonnegative(),
  error_rate: fraction,
  p50_ms: nullableMs,
  p95_ms: nullableMs,
  p99_ms: nullableMs,
  active_users: count,
  ttft_p50_ms: nullableMs.optional(),
  ttft_p95_ms: nullableMs.optional(),
  itl_p50_ms: nullableMs.optional(),
  itl_p95_ms: nullableMs.optional(),
  /** Arrivals dropped in this bucket (open model). */
  dropped: count.optional(),
})

export const TimeSeries = z
  .strictObject({ bucket_s: z.number().positive(), points: z.array(TimePoint) })
  .superRefine(increasing('points', 't'))

/** Histogram bucket: `count` requests took more than the previous bound and at most `le_ms`. */
export const LatencyHistogram = z
  .strictObject({ buckets: z.array(z.strictObject({ le_ms: z.number().positive(), count })).min(1) })
  .superRefine(increasing('buckets', 'le_ms'))

export const BreakerState = z.enum(['closed', 'open', 'half_open'])

export const ProxySample = z.strictObject({
  t: seconds,
  rss_mb: z.number().nonnegative().optional(),
  heap_used_mb: z.number().nonnegative().optional(),
  cache_hit_rate: fraction.optional(),
  breakers: z.record(z.string(), BreakerState).optional(),
})

export const ProxyMetrics = z
  .strictObject({ source: z.string().optional(), samples: z.array(ProxySample) })
  .superRefine(increasing('samples', 't'))

export const Comparator = z.enum(['<', '<=', '>', '>='])

export const BaselineUnit = z.enum(['ms', 'ratio', 'rps', 'count', 'mb', 'tokens_per_s'])

export const BaselineResult = z.strictObject({
  name: z.string().min(1),
  metric: z.string().min(1),
  comparator: Comparator,
  threshold: z.number(),
  unit: BaselineUnit.optional(),
  /** null when the metric was not measured; such a baseline fails. */
  actual: z.number().nullable(),
  passed: z.boolean(),
  /** Signed fraction of the threshold: positive is headroom, negative a breach; null when undefined. */
  margin: z.number().nullable(),
})

export const RegressionVerdict = z.strictObject({
  metric: z.string().min(1),
  baseline: z.number(),
  current: z.number(),
  /**
   * The change and its confidence interval: relative, (current - baseline) / baseline, or for a rate
   * (`change_unit` points) the difference current - baseline (0.004 = 0.4 percentage point).
   */
  change: z.number(),
  change_unit: z.enum(['relative', 'points']).optional(),
  interval: z
    .strictObject({ low: z.number(), high: z.number(), confidence: z.number().gt(0).lt(1) })
    .refine((i) => i.low <= i.high, { message: 'low must be <= high', path: ['high'] }),
  verdict: z.enum(['regressed', 'improved', 'unchanged', 'inconclusive']),
  /** The smallest relative change this comparison detects 90 % of the time. */
  detectable_change: z.number().nonnegative().optional(),
  /** How many runs each side had. */
  runs: z.strictObject({ baseline: z.int().positive(), current: z.int().positive() }).optional(),
})

export const Regression = z.strictObject({
  reference: z.strictObject({
    name: z.string().min(1),
    run_id: z.string().optional(),
    git_commit: z.string().optional(),
    created_at: z.iso.datetime({ offset: true }).optional(),
  }),
  method: z.string().min(1),
  /** The rule's false-alarm rate on identical code, for this comparison (all its metrics together). */
  false_alarm_rate: fraction.optional(),
  verdicts: z.array(RegressionVerdict),
})

/**
 * Why the regression gate gave no verdict (no baseline for this kind of machine, another setup, a
 * comparison it could not make): without it a pass no gate judged reads as a gated one. `required`:
 * the caller asked for a gate (load:ci --require-gate), so a run it would have passed is inconclusive.
 */
export const RegressionSkipped = z.strictObject({ reason: z.string().min(1), required: z.boolean() })

export const GeneratorHealth = z.strictObject({
  intended_rps: z.number().nonnegative().optional(),
  achieved_rps: z.number().nonnegative(),
  /** Generator process CPU, 100 = one core fully busy. */
  cpu_percent_mean: z.number().nonnegative().optional(),
  cpu_percent_max: z.number().nonnegative().optional(),
  /** How late the generator's event loop ran due timers, ms. */
  event_loop_delay_ms: z.strictObject({ p50: ms, p99: ms, max: ms }).optional(),
  /** Share of the run the generator's event loop was busy (median over the seconds after the ramp-up). */
  event_loop_utilization: fraction.optional(),
  /** Open model: how late requests left against their intended send time, ms. */
  send_lag_ms: z.strictObject({ p50: ms, p95: ms.optional(), p99: ms, max: ms }).optional(),
  /** True when the generator may have been the limit: the run is then `inconclusive`. */
  limited: z.boolean(),
  /** Each reason it may have been, one line each. */
  reasons: z.array(z.string()).optional(),
  note: z.string().optional(),
})

export const RunSummary = z
  .strictObject({
    schema_version: z.literal(SCHEMA_VERSION),
    /** Set when the document was written with an older schema and upgraded on read. */
    upgraded_from: z.union([z.literal(1), z.literal(2)]).optional(),
    status: z.enum(['passed', 'failed', 'inconclusive', 'broken']),
    status_reason: z.string().optional(),
    run: Run,
    environment: Environment,
    tier: TierDefinition,
    totals: Totals,
    scenarios: z.array(ScenarioResult),
    timeseries: TimeSeries.optional(),
    latency_histogram: LatencyHistogram.optional(),
    proxy_metrics: ProxyMetrics.optional(),
    baselines: z.array(BaselineResult),
    regression: Regression.optional(),
    regression_skipped: RegressionSkipped.optional(),
    generator: GeneratorHealth.optional(),
    /** A merged run: the shards it was merged from, in segment order. */
    shards: z.array(ShardResult).min(1).optional(),
    /** Errors by kind: `http_<status>` for HTTP statuses, otherwise a short kind (timeout, reset, ...). */
    errors_by_kind: z.record(z.string(), count),
  })
  .superRefine((s, ctx) => {
    if (Date.parse(s.run.ended_at) < Date.parse(s.run.started_at)) {
      ctx.addIssue({ code: 'custom', path: ['run', 'ended_at'], message: 'ended_at is before started_at' })
    }
    if (s.totals.errors > s.totals.requests) {
      ctx.addIssue({ code: 'custom', path: ['totals', 'errors'], message: 'errors > requests' })
    }
    const failing = s.baselines.some((b) => !b.passed)
    const regressed = s.regression?.verdicts.some((v) => v.verdict === 'regressed') ?? false
    const limited = s.generator?.limited === true
    const ungated = s.regression_skipped?.required === true
    if (s.regression && s.regression_skipped) {
      ctx.addIssue({
        code: 'custom',
        path: ['regression_skipped'],
        message: 'the regression gate either gave verdicts or was skipped, not both',
      })
    }
    if (s.status === 'passed' && (failing || regressed)) {
      ctx.addIssue({
        code: 'custom',
        path: ['status'],
        message: 'status is passed but a baseline failed or a metric regressed',
      })
    }
    // Version 1 judged runs without asking whether the generator was the limit.
    if (s.upgraded_from !== 1 && limited && (s.status === 'passed' || s.status === 'failed')) {
      ctx.addIssue({
        code: 'custom',
        path: ['status'],
        message: `status is ${s.status} but the generator may have been the limit: it is inconclusive`,
      })
    }
    if (s.status === 'passed' && ungated) {
      ctx.addIssue({
        code: 'custom',
        path: ['status'],
        message: 'status is passed but the regression gate it required did not run: it is inconclusive',
      })
    }
    const errorRate = s.baselines.find((b) => b.metric === 'error_rate')
    const tooFew =
      errorRate !== undefined && tooFewForErrorRate(s.totals.requests, s.totals.errors, errorRate.threshold)
    if (s.status === 'inconclusive' && !limited && !tooFew && !ungated) {
      ctx.addIssue({
        code: 'custom',
        path: ['status'],
        message:
          'status is inconclusive but the generator was not the limit, nor the run too short to judge, nor a required regression gate skipped',
      })
    }
    if (s.status === 'failed' && !failing && !regressed) {
      ctx.addIssue({
        code: 'custom',
        path: ['status'],
        message: 'status is failed but every baseline passed and nothing regressed',
      })
    }
  })

export type RunSummary = z.infer<typeof RunSummary>
export type LatencyStats = z.infer<typeof LatencyStats>
export type StreamStats = z.infer<typeof StreamStats>
export type ScenarioResult = z.infer<typeof ScenarioResult>
export type TimePoint = z.infer<typeof TimePoint>
export type ProxySample = z.infer<typeof ProxySample>
export type BaselineResult = z.infer<typeof BaselineResult>
export type BaselineUnit = z.infer<typeof BaselineUnit>
export type Comparator = z.infer<typeof Comparator>
export type RegressionVerdict = z.infer<typeof RegressionVerdict>
export type StreamByCache = z.infer<typeof StreamByCache>
export type ServerTiming = z.infer<typeof ServerTiming>
export type GeneratorHealth = z.infer<typeof GeneratorHealth>
export type ShardResult = z.infer<typeof ShardResult>

export type SummaryIssue = { path: string; message: string }

/** Thrown by parseSummary; `issues` lists every violation, each named by its path. */
export class SummaryError extends Error {
  readonly issues: SummaryIssue[]
  constructor(issues: SummaryIssue[]) {
    super(`invalid run summary:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`)
    this.name = 'SummaryError'
    this.issues = issues
  }
}

/** Validates a summary given as JSON text or as an already parsed value (older schemas upgraded). */
export function parseSummary(json: unknown): RunSummary {
  let value = json
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json)
    } catch (error) {
      throw new SummaryError([{ path: '(root)', message: `not JSON: ${(error as Error).message}` }])
    }
  }
  const upgraded = upgrade(value)
  if (upgraded instanceof SummaryError) throw upgraded
  return parseWithSchema(RunSummary, upgraded)
}

/** JSON text or a parsed value validated against a summary schema; SummaryError names every problem. */
export function parseWithSchema<T>(schema: z.ZodType<T>, json: unknown): T {
  let value = json
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json)
    } catch (error) {
      throw new SummaryError([{ path: '(root)', message: `not JSON: ${(error as Error).message}` }])
    }
  }
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw new SummaryError(result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })))
}

/**
 * Older documents are read as the current version with `upgraded_from`, their fields unchanged.
 * Version 2 means what version 3 means (3 only added fields: targets, execution segments, shards,
 * x-cache counts). Version 1 also left dropped arrivals out of the latency, counted failed requests in
 * the throughput, and could judge a run `failed` whose generator was the limit. A newer or unknown
 * version is refused by name, never half-read.
 */
function upgrade(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const version = (value as { schema_version?: unknown }).schema_version
  if (version === SCHEMA_VERSION || version === undefined) return value
  if (version === 1 || version === 2) {
    const old = value as Record<string, unknown>
    if (version === 1 && old.status === 'inconclusive')
      return new SummaryError([
        { path: 'status', message: 'inconclusive does not exist in schema version 1' },
      ])
    return { ...old, schema_version: SCHEMA_VERSION, upgraded_from: version }
  }
  return new SummaryError([
    {
      path: 'schema_version',
      message: `schema version ${JSON.stringify(version)} is not one this reader knows (${READABLE_VERSIONS.join(', ')}): ${typeof version === 'number' && version > SCHEMA_VERSION ? 'the summary was written by a newer harness, update this one' : 'not a run summary of this harness'}`,
    },
  ])
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)'
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('')
}

function increasing(list: string, key: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const items = value[list] as Record<string, number>[]
    for (let i = 1; i < items.length; i++) {
      if (items[i][key] <= items[i - 1][key]) {
        ctx.addIssue({ code: 'custom', path: [list, i, key], message: `${key} must increase` })
      }
    }
  }
}
