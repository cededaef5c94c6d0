import { z } from 'zod'
import { toMilliseconds } from './duration.ts'

export const ROUTES = ['chat', 'embeddings', 'models', 'messages'] as const
export type RouteName = (typeof ROUTES)[number]

const DURATION_HINT = "expected a duration such as '20ms' or '1.5s', or a number of milliseconds"

const duration = z.any().transform((value, ctx) => {
  const parsed = toMilliseconds(value)
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: value === undefined ? 'required' : DURATION_HINT })
    return z.NEVER
  }
  return parsed
})

const tail = z
  .object({
    p: z.number().min(0).max(1),
    multiplier: z.number().min(1).optional(),
    pareto_alpha: z.number().positive().optional(),
  })
  .strict()
  .refine((t) => (t.multiplier === undefined) !== (t.pareto_alpha === undefined), {
    message: 'give exactly one of multiplier or pareto_alpha',
  })

const REQUIRED_BY_DIST = {
  fixed: ['value'],
  uniform: ['min', 'max'],
  normal: ['mean', 'stddev'],
  lognormal: ['median', 'sigma'],
} as const

const distObject = z
  .object({
    dist: z.enum(['fixed', 'uniform', 'normal', 'lognormal']),
    value: duration.optional(),
    min: duration.optional(),
    max: duration.optional(),
    mean: duration.optional(),
    stddev: duration.optional(),
    median: duration.optional(),
    sigma: z.number().min(0).optional(),
    tail: tail.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const field of REQUIRED_BY_DIST[d.dist]) {
      if (d[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `required for ${d.dist}` })
    }
    if (d.min !== undefined && d.max !== undefined && d.min > d.max) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: 'must be >= min' })
    }
  })

/** A bare duration is shorthand for a fixed distribution. */
const dist = z.preprocess(
  (v) => (typeof v === 'number' || typeof v === 'string' ? { dist: 'fixed', value: v } : v),
  distObject,
)

const ZERO = { dist: 'fixed', value: 0 } as const

const latency = z
  .object({
    ttft: dist.default(ZERO),
    itl: dist.default(ZERO),
    prefill_per_token: duration.default(0),
  })
  .strict()

const completion = z
  .object({
    min_tokens: z.number().int().min(1).default(16),
    max_tokens: z.number().int().min(1).default(64),
  })
  .strict()
  .refine((c) => c.min_tokens <= c.max_tokens, { path: ['max_tokens'], message: 'must be >= min_tokens' })

const concurrency = z
  .object({
    limit: z.number().int().min(0).default(0),
    queue: z.number().int().min(0).default(1024),
    overflow_status: z.union([z.literal(429), z.literal(503), z.literal(529)]).default(503),
  })
  .strict()

const auth = z
  .object({
    required: z.boolean().default(false),
    keys: z.array(z.string().min(1)).default([]),
  })
  .strict()

const openaiModel = z
  .object({
    id: z.string().min(1),
    context_window: z.number().int().positive(),
    kind: z.enum(['chat', 'embedding']).default('chat'),
    dimensions: z.number().int().positive().optional(),
    owned_by: z.string().default('mock-openai'),
  })
  .strict()

const anthropicModel = z
  .object({
    id: z.string().min(1),
    context_window: z.number().int().positive(),
    display_name: z.string().optional(),
  })
  .strict()

export const DEFAULT_MODELS = {
  openai: [
    { id: 'gpt-4o-mini', context_window: 128000 },
    { id: 'gpt-4o', context_window: 128000 },
    { id: 'text-embedding-3-small', context_window: 8191, kind: 'embedding', dimensions: 1536 },
  ],
  anthropic: [
    { id: 'claude-3-5-haiku-latest', context_window: 200000, display_name: 'Claude Haiku 3.5' },
    { id: 'claude-sonnet-4', context_window: 200000, display_name: 'Claude Sonnet 4' },
  ],
}

const models = z
  .object({
    openai: z.array(openaiModel).prefault(DEFAULT_MODELS.openai as never),
    anthropic: z.array(anthropicModel).prefault(DEFAULT_MODELS.anthropic),
  })
  .strict()

/** When a fault applies: filters, then a schedule and/or a rate (see faults.ts for the semantics). */
const when = {
  rate: z.number().min(0).max(1).optional(),
  from: duration.optional(),
  to: duration.optional(),
  every: z.number().int().min(1).optional(),
  on_requests: z.array(z.number().int().min(1)).min(1).optional(),
  routes: z.array(z.enum(ROUTES)).min(1).optional(),
  stream: z.boolean().optional(),
}

const fault = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('status'),
      status: z.number().int().min(400).max(599),
      message: z.string().optional(),
      ...when,
    })
    .strict(),
  z.object({ type: z.literal('rate_limit'), retry_after: duration.default(1000), ...when }).strict(),
  z.object({ type: z.literal('hang'), ...when }).strict(),
  z.object({ type: z.literal('slow_headers'), delay: duration, ...when }).strict(),
  z.object({ type: z.literal('reset'), ...when }).strict(),
  z.object({ type: z.literal('cut'), after_chunks: z.number().int().min(0).default(3), ...when }).strict(),
  z.object({ type: z.literal('malformed'), at_chunk: z.number().int().min(1).default(2), ...when }).strict(),
  z.object({ type: z.literal('duplicate'), at_chunk: z.number().int().min(1).default(2), ...when }).strict(),
  z.object({ type: z.literal('slow_drip'), interval: duration.default(1000), ...when }).strict(),
  z
    .object({
      type: z.literal('stream_error'),
      at_chunk: z.number().int().min(1).default(1),
      status: z.number().int().min(400).max(599).default(500),
      message: z.string().optional(),
      ...when,
    })
    .strict(),
  z
    .object({
      type: z.literal('stall'),
      after_chunks: z.number().int().min(0).default(0),
      interval: duration.pipe(z.number().positive()).default(1000),
      ...when,
    })
    .strict(),
])

const scheduledFault = fault.superRefine((f, ctx) => {
  const scheduled =
    f.from !== undefined || f.to !== undefined || f.every !== undefined || f.on_requests !== undefined
  if (f.rate === undefined && !scheduled) {
    ctx.addIssue({
      code: 'custom',
      path: ['rate'],
      message: 'a fault needs a rate or a schedule (from/to, every, on_requests)',
    })
  }
  if (f.from !== undefined && f.to !== undefined && f.from >= f.to) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' })
  }
})

export const profileSchema = z
  .object({
    name: z.string().min(1).default('custom'),
    description: z.string().optional(),
    seed: z.number().int().optional(),
    auth: auth.prefault({}),
    latency: latency.prefault({}),
    completion: completion.prefault({}),
    concurrency: concurrency.prefault({}),
    models: models.prefault({}),
    faults: z.array(scheduledFault).default([]),
  })
  .strict()

/** A validated profile, defaults filled in, durations in milliseconds. */
export type Profile = z.output<typeof profileSchema>
/** What a profile file or PUT /__mock/profile may contain. */
export type ProfileInput = z.input<typeof profileSchema>
export type Fault = Profile['faults'][number]
export type FaultType = Fault['type']
export type Latency = Profile['latency']
export type OpenAIModel = Profile['models']['openai'][number]
export type AnthropicModel = Profile['models']['anthropic'][number]
