// The chaos run summary: what `npm run chaos` writes as summary.json beside its report, and the only
// input of the chaos report renderer. Versioned; fields are documented in reports/CHAOS.md.
import { z } from 'zod'
import { BreakerState, Environment, parseWithSchema } from './summary.ts'

export const CHAOS_SCHEMA_VERSION = 1

const count = z.int().nonnegative()
const seconds = z.number().nonnegative()
const ms = z.number().nonnegative()
const fraction = z.number().min(0).max(1)
const nullableMs = ms.nullable()

export const ChaosVerdict = z.strictObject({
  kind: z.string().min(1),
  expected: z.string().min(1),
  actual: z.string(),
  passed: z.boolean(),
})

export const ChaosPhaseResult = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    start_s: seconds,
    end_s: seconds,
    /** Arrival rate (req/s) in the phase. */
    rate: z.number().positive(),
    faults: z.array(z.string()),
    stats: z.strictObject({
      /** Requests whose intended start lies in the phase. */
      requests: count,
      ok: count,
      success_rate: fraction.nullable(),
      latency_ms: z.strictObject({ p50: ms, p95: ms, p99: ms, max: ms }).nullable(),
      /** Answered 503 `overloaded` by the proxy's admission control. */
      shed: count,
      /** The proxy's calls to providers in the phase and how many failed (/metrics http_client). */
      upstream_attempts: count.nullable(),
      upstream_failed: count.nullable(),
      errors_by_kind: z.record(z.string(), count),
    }),
    assertions: z.array(ChaosVerdict),
  })
  .refine((p) => p.end_s > p.start_s, { message: 'end_s must be after start_s', path: ['end_s'] })

const Point = z.strictObject({
  t: seconds,
  /** Requests whose intended start fell in this second, and how they ended. */
  requests: count,
  ok: count,
  failed: count,
  success_rate: fraction.nullable(),
  p50_ms: nullableMs,
  p95_ms: nullableMs,
  p99_ms: nullableMs,
})

const increasing = (label: string) => (items: readonly unknown[], ctx: z.RefinementCtx) => {
  const times = items.map((item) => (item as { t: number }).t)
  for (let i = 1; i < times.length; i++)
    if (times[i] <= times[i - 1])
      ctx.addIssue({ code: 'custom', path: [i, 't'], message: `${label}: t must increase` })
}

const series = <T extends z.ZodRawShape>(shape: T, label: string) =>
  z.array(z.strictObject({ t: seconds, ...shape })).superRefine(increasing(label))

export const ChaosSummary = z
  .strictObject({
    schema_version: z.literal(CHAOS_SCHEMA_VERSION),
    kind: z.literal('chaos'),
    status: z.enum(['passed', 'failed', 'broken']),
    status_reason: z.string().optional(),
    run: z.strictObject({
      id: z.string().min(1),
      scenario: z.string().min(1),
      description: z.string(),
      started_at: z.iso.datetime({ offset: true }),
      ended_at: z.iso.datetime({ offset: true }),
      duration_s: seconds,
      time_scale: z.number().positive(),
      seed: z.int(),
      command: z.string(),
      target_url: z.url(),
      instances: z.int().positive(),
      workers: z.int().positive(),
      toxiproxy: z.boolean(),
      redis: z.boolean(),
    }),
    environment: Environment,
    load: z.strictObject({
      rate: z.number().positive(),
      models: z.array(z.string().min(1)).min(1),
      stream_share: fraction,
      mix: z.array(z.strictObject({ name: z.string().min(1), weight: z.number().nonnegative() })),
      timeout_s: z.number().positive(),
      max_in_flight: z.int().positive(),
    }),
    /** The proxy settings the run laid over proxy/config.yaml (no secrets). */
    proxy_overrides: z.record(z.string(), z.unknown()),
    phases: z.array(ChaosPhaseResult).min(1),
    timeseries: z.strictObject({
      bucket_s: z.number().positive(),
      points: z.array(Point).superRefine(increasing('points')),
    }),
    /** Calls each mock received per second (its own counter). */
    upstream: z.record(z.string(), series({ rps: z.number().nonnegative() }, 'upstream')),
    /** Resident memory of the proxy (the largest live instance, workers included), from /proc. */
    memory: series({ rss_mb: z.number().nonnegative() }, 'memory'),
    /** Breaker state per provider as /metrics reported it. */
    breakers: z.record(z.string(), series({ state: BreakerState }, 'breakers')),
    /** What each health endpoint said, per series (`/health`, `/health/providers mock-openai`, ...). */
    health: z.record(z.string(), series({ status: z.string().min(1) }, 'health')),
    events: z.array(
      z.strictObject({ t: seconds, kind: z.enum(['fault', 'process', 'note']), text: z.string().min(1) }),
    ),
    generator: z.strictObject({
      send_lag_ms: z.strictObject({ p50: ms, p99: ms, max: ms }),
      dropped: count,
      note: z.string().optional(),
    }),
    errors_by_kind: z.record(z.string(), count),
  })
  .superRefine((s, ctx) => {
    const failed = s.phases.some((p) => p.assertions.some((a) => !a.passed))
    if (s.status === 'passed' && failed)
      ctx.addIssue({ code: 'custom', path: ['status'], message: 'status is passed but an assertion failed' })
    if (s.status === 'failed' && !failed)
      ctx.addIssue({ code: 'custom', path: ['status'], message: 'status is failed but every assertion held' })
    for (let i = 1; i < s.phases.length; i++)
      if (s.phases[i].start_s < s.phases[i - 1].end_s)
        ctx.addIssue({ code: 'custom', path: ['phases', i, 'start_s'], message: 'phases overlap' })
  })

export type ChaosSummary = z.infer<typeof ChaosSummary>
export type ChaosPhaseResult = z.infer<typeof ChaosPhaseResult>
export type ChaosVerdict = z.infer<typeof ChaosVerdict>

/** Validates a chaos summary given as JSON text or a parsed value; throws SummaryError listing every problem. */
export function parseChaosSummary(json: unknown): ChaosSummary {
  return parseWithSchema(ChaosSummary, json)
}

/** True when a parsed JSON document is a chaos summary (the report CLI picks the renderer by this). */
export function isChaosSummary(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'chaos'
}
