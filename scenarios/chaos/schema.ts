// The shape of scenarios/chaos/<name>.yaml: a load, the stack it runs against, and a timeline of
// phases, each with the faults active in it and the assertions that must hold in it. Durations are
// `30s`, `1500ms` or seconds and come out in seconds; toxiproxy attributes keep toxiproxy's own units.
import { z } from 'zod'
import { ProfileError, parseProfile } from '../../mock-providers/src/profile.ts'
import { SCENARIO_NAMES } from '../scenario.ts'
import { duration } from '../tiers.ts'

export const PROVIDERS = ['mock-openai', 'mock-anthropic'] as const
const provider = z.enum(PROVIDERS)
const fraction = z.number().min(0).max(1)
const positive = duration.refine((s) => s > 0, { message: 'must be > 0' })

const Load = z.strictObject({
  /** Requests per second (open model, evenly spaced); a phase may set its own. */
  rate: z.number().positive().max(2000),
  duration: positive,
  /** The model every request names, or several, taken in turn by the prompts. */
  model: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Share of chat requests sent with stream: true. */
  stream_share: fraction.default(0),
  /** Request kinds by weight; chat is split into chat and chat-stream by stream_share. */
  mix: z
    .partialRecord(z.enum(['chat', 'models', 'condense']), z.number().nonnegative())
    .default({ chat: 1 })
    .refine((m) => Object.values(m).some((w) => (w ?? 0) > 0), { message: 'a kind needs a weight > 0' }),
  /** The client's deadline for a whole request; past it the request is cut and counted as hung. */
  timeout: positive.default(30),
  /** Requests in flight at most; an arrival beyond it is counted as a failure (dropped). */
  max_in_flight: z.int().positive().max(20_000).default(2000),
  prompts: z.int().min(1).max(100_000).default(1000),
})

const ProxySection = z.strictObject({
  /** server.workers of each instance (node:cluster when > 1). */
  workers: z.int().min(1).max(8).default(1),
  /** Instances behind the runner's load balancer (a rolling restart needs two). */
  instances: z.int().min(1).max(3).default(1),
  /** Deep-merged over proxy/config.yaml and the chaos defaults. */
  config: z.record(z.string(), z.unknown()).default({}),
})

const Mocks = z.strictObject({
  /** A profile name (mock-providers/profiles) or an inline profile, for both mocks. */
  profile: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).default('baseline'),
})

const MockFault = z
  .strictObject({
    kind: z.literal('mock'),
    provider,
    /** Mock faults (mock-providers/README.md), active for the whole phase. */
    faults: z.array(z.record(z.string(), z.unknown())).default([]),
    /** Every latency of the base profile multiplied by this. */
    latency_multiplier: z.number().positive().optional(),
  })
  .superRefine((f, ctx) => {
    if (f.faults.length === 0 && f.latency_multiplier === undefined)
      ctx.addIssue({ code: 'custom', message: 'give faults or latency_multiplier' })
    try {
      parseProfile({ faults: f.faults })
    } catch (error) {
      if (!(error instanceof ProfileError)) throw error
      for (const line of error.issues) {
        const at = line.indexOf(': ')
        const path = at < 0 ? [] : (line.slice(0, at).match(/[^.[\]]+/g) ?? [])
        ctx.addIssue({
          code: 'custom',
          path: path.map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
          message: at < 0 ? line : line.slice(at + 2),
        })
      }
    }
  })

const ms = z.int().nonnegative()
export const TOXICS = {
  latency: z.strictObject({ latency: ms, jitter: ms.default(0) }),
  bandwidth: z.strictObject({ rate: z.int().positive() }),
  slow_close: z.strictObject({ delay: ms }),
  timeout: z.strictObject({ timeout: ms }),
  reset_peer: z.strictObject({ timeout: ms.default(0) }),
  slicer: z.strictObject({
    average_size: z.int().positive(),
    size_variation: ms.default(0),
    delay: ms.default(0),
  }),
  limit_data: z.strictObject({ bytes: z.int().positive() }),
} as const
export type ToxicType = keyof typeof TOXICS

const NetworkFault = z
  .strictObject({
    kind: z.literal('network'),
    provider,
    /** A toxiproxy toxic on the link between the proxy and this mock. */
    toxic: z.enum(Object.keys(TOXICS) as [ToxicType, ...ToxicType[]]).optional(),
    attributes: z.record(z.string(), z.unknown()).default({}),
    stream: z.enum(['downstream', 'upstream', 'both']).default('downstream'),
    toxicity: fraction.default(1),
    /** The link disabled: connections refused, open ones closed. */
    down: z.literal(true).optional(),
  })
  .transform((f, ctx) => {
    if ((f.toxic === undefined) === (f.down === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['toxic'], message: 'give exactly one of toxic or down' })
      return z.NEVER
    }
    if (!f.toxic) return { ...f, attributes: {} }
    const parsed = TOXICS[f.toxic].safeParse(f.attributes)
    if (parsed.success) return { ...f, attributes: parsed.data as Record<string, number> }
    for (const issue of parsed.error.issues)
      ctx.addIssue({
        code: 'custom',
        path: ['attributes', ...issue.path.map(String)],
        message: issue.message,
      })
    return z.NEVER
  })

const Fault = z.discriminatedUnion('kind', [
  MockFault,
  NetworkFault,
  z.strictObject({
    kind: z.literal('kill_worker'),
    signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGSEGV']).default('SIGKILL'),
    count: z.int().min(1).max(8).default(1),
  }),
  z.strictObject({ kind: z.literal('rolling_restart'), instance: z.int().min(0).default(0) }),
  z.strictObject({ kind: z.literal('redis_down'), mode: z.enum(['stop', 'pause']).default('stop') }),
  z.strictObject({
    /** Clients sending the tokenizer's or the JSON parser's worst requests back to back, beside the load (hostile.ts). */
    kind: z.literal('hostile_prompts'),
    route: z.enum(['chat', 'condense']).default('condense'),
    text: z.enum(['one_word', 'base64', 'deep_json', 'wide_json']).default('one_word'),
    size_kb: z.int().min(1).max(8192).default(2048),
    clients: z.int().min(1).max(8).default(1),
  }),
])

/** Ignore requests started (or samples taken) in the phase's first `after` seconds. */
const after = { after: duration.default(0) }
const statusList = z.array(z.union([z.string().min(1), z.boolean(), z.number()]).transform(String)).min(1)

const Assertion = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('success_rate'),
    min: fraction,
    scenarios: z.array(z.enum(SCENARIO_NAMES)).min(1).optional(),
    /**
     * Error codes of refusals a client retries elsewhere (OpenAI SDKs retry 5xx), e.g. shutting_down
     * from a draining instance: answered within a second, they count as neither success nor failure.
     */
    retryable: z.array(z.string().min(1)).min(1).optional(),
    ...after,
  }),
  z
    .strictObject({
      kind: z.literal('latency'),
      percentile: z.number().gt(0).max(100),
      max_ms: z.number().positive().optional(),
      relative_to: z.string().optional(),
      factor: z.number().positive().default(2),
      /** success: 2xx only; admitted: everything but shed answers; all: every answer. */
      of: z.enum(['success', 'admitted', 'all']).default('success'),
      scenarios: z.array(z.enum(SCENARIO_NAMES)).min(1).optional(),
      ...after,
    })
    .refine((a) => (a.max_ms === undefined) !== (a.relative_to === undefined), {
      message: 'give exactly one of max_ms or relative_to',
      path: ['max_ms'],
    }),
  z
    .strictObject({
      kind: z.literal('breaker'),
      provider,
      opens_within: positive.optional(),
      /** Measured from the end of the phase. */
      closes_within: positive.optional(),
      stays_closed: z.literal(true).optional(),
    })
    .refine(
      (a) => (a.stays_closed ? !a.opens_within && !a.closes_within : a.opens_within || a.closes_within),
      {
        message: 'give opens_within and/or closes_within, or stays_closed alone',
        path: ['opens_within'],
      },
    ),
  z.strictObject({
    kind: z.literal('retry_after'),
    status: z.array(z.int().min(400).max(599)).min(1).default([429]),
    min_s: z.number().nonnegative().default(1),
    max_s: z.number().positive().optional(),
    within_ms: z.number().positive().optional(),
    min_count: z.int().nonnegative().default(1),
    ...after,
  }),
  z.strictObject({ kind: z.literal('no_hang'), max_s: positive.optional(), ...after }),
  z.strictObject({ kind: z.literal('streams_complete'), ...after }),
  z.strictObject({ kind: z.literal('no_malformed'), ...after }),
  z.strictObject({
    kind: z.literal('shed'),
    max_ms: z.number().positive().default(50),
    percentile: z.number().gt(0).max(100).default(99),
    code: z.string().min(1).default('overloaded'),
    ...after,
  }),
  z
    .strictObject({
      kind: z.literal('memory'),
      max_rss_mb: z.number().positive().optional(),
      max_growth_mb: z.number().positive().optional(),
    })
    .refine((a) => a.max_rss_mb !== undefined || a.max_growth_mb !== undefined, {
      message: 'give max_rss_mb and/or max_growth_mb',
      path: ['max_rss_mb'],
    }),
  z.strictObject({
    kind: z.literal('health'),
    endpoint: z.enum(['/health', '/health/providers']),
    provider: provider.optional(),
    check: z.enum(['memory', 'providers', 'cache']).optional(),
    /** What to read in the provider's or check's entry (a dot path; default status). */
    field: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/i)
      .default('status'),
    /** The values that are the truth (status words, or true/false and numbers for other fields). */
    status: statusList,
    /** The answer must also mention this word (case-insensitive). */
    mentions: z.string().min(1).optional(),
    /** Share of the polls that must agree. */
    share: fraction.default(1),
    ...after,
  }),
  z.strictObject({ kind: z.literal('metrics_truth'), tolerance: fraction.default(0.02), ...after }),
  z.strictObject({
    kind: z.literal('drain'),
    exit_code: z.int().default(0),
    within: positive,
  }),
  z.strictObject({ kind: z.literal('workers'), count: z.int().min(1), within: positive }),
])

const Phase = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'phase names are lower-case words'),
  description: z.string().optional(),
  start: duration,
  end: duration,
  /** The arrival rate during this phase (default load.rate). */
  rate: z.number().positive().max(2000).optional(),
  faults: z.array(Fault).default([]),
  assert: z.array(Assertion).default([]),
})

export const ScenarioFile = z.strictObject({
  description: z.string().min(1),
  load: Load,
  proxy: ProxySection.prefault({}),
  mocks: Mocks.prefault({}),
  toxiproxy: z.boolean().default(true),
  redis: z.boolean().default(false),
  phases: z.array(Phase).min(1),
  /** In `npm run chaos:ci`, at this time scale. */
  ci: z.strictObject({ scale: z.number().gt(0).max(1) }).optional(),
})

export type ChaosScenarioInput = z.input<typeof ScenarioFile>
export type ChaosScenarioBody = z.output<typeof ScenarioFile>
export type ChaosPhase = ChaosScenarioBody['phases'][number]
export type ChaosFault = ChaosPhase['faults'][number]
export type ChaosAssertion = ChaosPhase['assert'][number]
export type AssertionKind = ChaosAssertion['kind']
export type Assert<K extends AssertionKind> = Extract<ChaosAssertion, { kind: K }>
export type Provider = (typeof PROVIDERS)[number]
