// The capacity plan summary: what `npm run capacity` writes as summary.json and the only input of the
// capacity report (capacity-render.ts). Versioned; every field is described here. Latencies in ms,
// rates in requests per second, CPU in % of one core (100 = one core busy), memory in MB.
import { z } from 'zod'
import { Environment, parseWithSchema } from './summary.ts'

export const CAPACITY_SCHEMA_VERSION = 1

const count = z.int().nonnegative()
const nonneg = z.number().nonnegative()
const maybe = nonneg.nullable()
const fraction = z.number().min(0).max(1)

export const Quantiles = z.strictObject({ p50: nonneg, p90: nonneg, p95: nonneg, p99: nonneg })

/** The resources one step used, averaged over its steady-state window (null: not measured). */
export const StepResources = z.strictObject({
  proxy_cpu_percent: maybe,
  proxy_rss_mb: maybe,
  proxy_rss_max_mb: maybe,
  event_loop_utilization: maybe,
  event_loop_delay_p99_ms: maybe,
  upstream_in_use: maybe,
  upstream_in_use_by_provider: z.record(z.string(), nonneg),
  upstream_pending: maybe,
  upstream_limit: maybe,
  upstream_limit_by_provider: z.record(z.string(), nonneg),
  upstream_sockets: maybe,
  client_sockets: maybe,
  open_fds_max: maybe,
  machine_busy_percent: maybe,
  mock_cpu_percent: maybe,
  generator_cpu_percent: maybe,
  workers: z.int().positive().nullable(),
})

/** One measured step: a constant arrival rate, or the closed-loop maximum-throughput step. */
export const StepPoint = z.strictObject({
  phase: z.enum(['max', 'sweep', 'refine']),
  /** Arrival rate of an open-model step; null for the closed-loop max step. */
  target_rps: z.number().positive().nullable(),
  /** Users sending back to back in the max step; null for rate steps. */
  users: z.int().positive().nullable(),
  window_s: z.number().positive(),
  started: count,
  succeeded: count,
  errors: count,
  error_rate: fraction,
  errors_by_kind: z.record(z.string(), count),
  /** Successful requests completed per second inside the window. */
  achieved_rps: nonneg,
  dropped: count,
  latency_ms: Quantiles.extend({ mean: nonneg, max: nonneg }).nullable(),
  ttft_ms: Quantiles.nullable(),
  itl_ms: Quantiles.nullable(),
  tokens_mean: maybe,
  latency_scv: maybe,
  /** Requests in flight at the generator: the concurrent streams. */
  concurrency: z.strictObject({ mean: nonneg, max: nonneg, growth: z.number() }),
  resources: StepResources,
  generator: z.strictObject({ cpu_percent: nonneg, send_lag_p99_ms: maybe, limited: z.boolean() }),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  /** Why the step failed or was inconclusive (each SLO breached, unstable, ...). */
  reasons: z.array(z.string()),
  /** Part of the lower rates the held-out prediction was fitted on. */
  in_fit: z.boolean(),
})

export const UslFitSchema = z.strictObject({
  over: z.enum(['concurrency', 'workers']),
  lambda: nonneg,
  sigma: z.number().min(0).max(1),
  kappa: nonneg,
  points: count,
  r2: z.number(),
  rmse: nonneg,
  mape: nonneg,
  peak: z.strictObject({ n: maybe, x: nonneg }).nullable(),
  kappa_fixed: z.boolean(),
})

export const RESOURCES = ['connections', 'cpu', 'memory', 'file_descriptors'] as const

/** One resource's ceiling on the arrival rate; null when it never binds (or was not measured). */
export const Bound = z.strictObject({
  resource: z.enum(RESOURCES),
  rate: maybe,
  detail: z.string(),
})

/** Per-request demands the capacity model is built from (Little's law and least squares). */
export const Demands = z.strictObject({
  points: count,
  /** Mean time a request holds an upstream connection: concurrency / throughput, seconds. */
  holding_s: nonneg,
  /** Upstream connections in use per request/s, by provider. */
  connections_per_rps: z.record(z.string(), nonneg),
  pool_limit_by_provider: z.record(z.string(), nonneg),
  cpu_percent_per_rps: maybe,
  cpu_idle_percent: maybe,
  rss_mb_per_stream: maybe,
  rss_base_mb: maybe,
  fd_limit: maybe,
  ttft_p95_ms: maybe,
  itl_p95_ms: maybe,
  latency_p95_ms: maybe,
  latency_mean_ms: maybe,
  error_rate: fraction,
  latency_scv: maybe,
})

export const Knee = z.strictObject({
  /** Highest rate whose step held the SLO, below the lowest that failed; null: it never held. */
  rate: maybe,
  achieved_rps: maybe,
  first_fail_rate: maybe,
  /** False when every measured rate held (the knee is at least `rate`). */
  bracketed: z.boolean(),
  note: z.string().optional(),
})

export const Sweep = z.strictObject({
  workers: z.int().positive(),
  points: z.array(StepPoint),
  max_throughput_rps: nonneg,
  knee: Knee,
  /** The resource nearest its limit where the SLO broke, from the measurements. */
  binding: z.strictObject({ resource: z.string(), evidence: z.string() }),
  usl: UslFitSchema.nullable(),
  demands: Demands.nullable(),
  /** The model's ceilings for an instance like this one (workers, configured pool, memory budget). */
  bounds: z.array(Bound),
})

const Latencies = z.strictObject({ latency_mean_ms: maybe, latency_p95_ms: maybe, ttft_p95_ms: maybe })

export const HeldOut = z.strictObject({
  rate: nonneg,
  predicted: Latencies.extend({ usl_latency_mean_ms: maybe }),
  measured: Latencies,
  /** (predicted - measured) / measured. */
  error: z.strictObject({
    latency_mean: z.number().nullable(),
    latency_p95: z.number().nullable(),
    ttft_p95: z.number().nullable(),
  }),
})

export const Truth = z.strictObject({
  workers: z.int().positive(),
  /** Steps at or below this rate were the fit; everything above was predicted before it was measured. */
  fit_max_rps: nonneg,
  fit_points: count,
  usl: UslFitSchema.nullable(),
  predicted_max_rps: maybe,
  predicted_binding: z.string().nullable(),
  predicted_knee_rps: maybe,
  measured_knee_rps: maybe,
  knee_error: z.number().nullable(),
  held_out: z.array(HeldOut),
  /** The latency check quoted in the closing note: the highest held-out rate below the measured knee. */
  latency_check: HeldOut.nullable(),
  goal: z.number().positive(),
  within_goal: z.boolean().nullable(),
  /** Held-out steps during which the machine's CPU was saturated (other processes included). */
  saturated_steps: count,
  method: z.string(),
})

export const SizingOption = z.strictObject({
  workers: z.int().positive(),
  /** The instance's ceiling (the binding bound), before headroom. */
  capacity_rps: maybe,
  binding: z.string(),
  /** capacity_rps x (1 - headroom): what each instance is planned to carry. */
  planned_rps: maybe,
  /** The same with the recommended pool limits (the next resource binds). */
  capacity_with_pools_rps: maybe,
  binding_with_pools: z.string().nullable(),
  /** Recommended max_connections per provider per worker (Little's law at capacity_with_pools_rps). */
  pool_per_worker: z.record(z.string(), z.int().positive()),
})

export const SizingRow = z.strictObject({
  users: count.nullable(),
  rate_rps: nonneg,
  instances: z.array(z.strictObject({ workers: z.int().positive(), instances: count.nullable() })),
  recommended: z.strictObject({ workers: z.int().positive(), instances: count }).nullable(),
})

export const Sizing = z.strictObject({
  headroom: z.number().min(0).lt(1),
  think_time_s: nonneg,
  /** Response time a user waits per request (the measured mean below the knee), seconds. */
  response_time_s: nonneg,
  instance_memory_mb: z.number().positive(),
  options: z.array(SizingOption),
  rows: z.array(SizingRow),
})

export const Slo = z.strictObject({
  ttft_p95_ms: z.number().positive().nullable(),
  itl_p95_ms: z.number().positive().nullable(),
  latency_p95_ms: z.number().positive().nullable(),
  error_rate_max: fraction,
  source: z.string(),
})

export const CapacitySummary = z.strictObject({
  schema_version: z.literal(CAPACITY_SCHEMA_VERSION),
  kind: z.literal('capacity'),
  status: z.enum(['completed', 'broken']),
  status_reason: z.string().optional(),
  run: z.strictObject({
    id: z.string().min(1),
    started_at: z.iso.datetime({ offset: true }),
    ended_at: z.iso.datetime({ offset: true }),
    duration_s: nonneg,
    command: z.string(),
    target_url: z.string(),
    mock_profile: z.string().nullable(),
    seed: z.int(),
    time_scale: z.number().positive(),
  }),
  environment: Environment,
  workload: z.strictObject({
    description: z.string(),
    scenarios: z.array(z.strictObject({ name: z.string(), weight: nonneg })),
    profile: z.record(z.string(), z.unknown()).nullable(),
    /** The proxy's response cache as the run set it; null: the target's own setting (--target). */
    cache: z.boolean().nullable(),
    warmup_s: nonneg,
    window_s: z.number().positive(),
  }),
  slo: Slo,
  sweeps: z.array(Sweep),
  usl_workers: z
    .strictObject({
      fit: UslFitSchema.nullable(),
      points: z.array(z.strictObject({ workers: z.int().positive(), x: nonneg })),
    })
    .nullable(),
  truth: Truth.nullable(),
  sizing: Sizing.nullable(),
  notes: z.array(z.string()),
})

export type CapacitySummary = z.infer<typeof CapacitySummary>
export type StepPoint = z.infer<typeof StepPoint>
export type StepResources = z.infer<typeof StepResources>
export type UslFitSummary = z.infer<typeof UslFitSchema>
export type Bound = z.infer<typeof Bound>
export type Demands = z.infer<typeof Demands>
export type Knee = z.infer<typeof Knee>
export type Sweep = z.infer<typeof Sweep>
export type HeldOut = z.infer<typeof HeldOut>
export type Truth = z.infer<typeof Truth>
export type Sizing = z.infer<typeof Sizing>
export type SizingOption = z.infer<typeof SizingOption>
export type Slo = z.infer<typeof Slo>
export type Resource = (typeof RESOURCES)[number]

/** Validates a capacity summary given as JSON text or a parsed value (SummaryError names every issue). */
export function parseCapacitySummary(json: unknown): CapacitySummary {
  return parseWithSchema(CapacitySummary, json)
}

/** Whether a parsed summary is a capacity plan (`npm run report` picks its renderer by it). */
export function isCapacitySummary(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'capacity'
}
