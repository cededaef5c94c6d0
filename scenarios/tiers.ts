// tiers.yaml -> validated, frozen tier definitions. Every problem is reported at once, each named by
// the field that has it (`tiers.light.users: ...`), so a typo cannot silently change a baseline.
import { readFileSync } from 'node:fs'
import ms from 'ms'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { SCENARIO_NAMES, type WeightedScenario } from './scenario.ts'

export const TIERS_FILE = new URL('../tiers.yaml', import.meta.url).pathname

/** `5m`, `30s`, `1500ms` or a number of seconds. */
export const duration = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value
  const parsed = ms(value as ms.StringValue)
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
    ctx.addIssue({ code: 'custom', message: `'${value}' is not a duration (e.g. 30s, 5m)` })
    return z.NEVER
  }
  return parsed / 1000
})

export const scenarioList = z
  .array(z.strictObject({ name: z.enum(SCENARIO_NAMES), weight: z.number().nonnegative() }))
  .min(1)
  .refine((list) => list.some((s) => s.weight > 0), { message: 'at least one scenario needs a weight > 0' })
  .refine((list) => new Set(list.map((s) => s.name)).size === list.length, {
    message: 'a scenario is listed twice',
  })

const LoadModel = z.enum(['open', 'closed'])
const Arrival = z.enum(['poisson', 'constant'])

const Defaults = z.strictObject({
  load_model: LoadModel.default('open'),
  arrival: Arrival.default('constant'),
  rps_tolerance: z.number().gt(0).max(1).default(0.9),
  request_timeout: duration.default(30),
  drain: duration.default(10),
  scenarios: scenarioList.optional(),
})

const TierInput = z
  .strictObject({
    users: z.int().positive(),
    duration: duration.refine((s) => s > 0, { message: 'duration must be > 0' }),
    ramp_up: duration.default(0),
    expected_rps: z.number().positive(),
    latency: z.strictObject({
      percentile: z.number().gt(0).lt(100).default(95),
      max_ms: z.number().positive(),
    }),
    error_rate_max: z.number().min(0).max(1),
    think_time: z
      .strictObject({ min: duration, max: duration })
      .refine((t) => t.min <= t.max, { message: 'min must be <= max', path: ['max'] })
      .optional(),
    scenarios: scenarioList.optional(),
    load_model: LoadModel.optional(),
    arrival: Arrival.optional(),
    ci: z
      .strictObject({
        duration_scale: z.number().positive(),
        runs: z.int().min(1).max(5).default(1),
        noise_floor: z.number().min(0).max(1).optional(),
      })
      .optional(),
  })
  .superRefine((tier, ctx) => {
    if (tier.ramp_up >= tier.duration) {
      ctx.addIssue({ code: 'custom', path: ['ramp_up'], message: 'ramp_up must be shorter than duration' })
    }
    if (tier.think_time) {
      // A closed-model user sends one request per (think + latency): users / mean think is the most
      // the closed model can reach. Think times that cannot reach the tier's rate are a mistake.
      const mean = (tier.think_time.min + tier.think_time.max) / 2
      const ceiling = mean > 0 ? tier.users / mean : Number.POSITIVE_INFINITY
      if (ceiling < tier.expected_rps * 0.9) {
        ctx.addIssue({
          code: 'custom',
          path: ['think_time'],
          message: `${tier.users} users thinking ${mean} s on average reach at most ${ceiling.toFixed(2)} req/s, below expected_rps ${tier.expected_rps}`,
        })
      }
    }
  })

const Corpus = z.strictObject({
  size: z.int().min(1).max(100_000).default(1000),
  zipf_exponent: z.number().min(0).max(5).default(1),
  models: z.array(z.string().min(1)).min(1).default(['gpt-4o-mini', 'claude-3-5-haiku-latest']),
})

const TiersFile = z.strictObject({
  defaults: Defaults.prefault({}),
  corpus: Corpus.prefault({}),
  tiers: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'tier names are lower-case words'), TierInput),
  /** `npm run capacity`'s workload, SLO and sizing: validated by scenarios/capacity/config.ts. */
  capacity: z.unknown().optional(),
})

export type CorpusConfig = { readonly size: number; readonly zipfExponent: number; readonly models: string[] }

export type Tier = {
  readonly name: string
  readonly users: number
  readonly durationS: number
  readonly rampUpS: number
  readonly expectedRps: number
  readonly latency: { readonly percentile: number; readonly maxMs: number }
  readonly errorRateMax: number
  /** Absent: the closed model sends back to back. */
  readonly thinkTimeS: { readonly min: number; readonly max: number } | undefined
  readonly scenarios: readonly WeightedScenario[]
  readonly loadModel: 'open' | 'closed'
  readonly arrival: 'poisson' | 'constant'
  readonly rpsTolerance: number
  readonly requestTimeoutS: number
  readonly drainS: number
  /** The duration scale `npm run load:ci` uses; 1 when the tier has none. */
  readonly ciScale: number
  /** How many runs of the tier `npm run load:ci` takes for its regression gate (default 1). */
  readonly ciRuns: number
  /**
   * The run-to-run noise the regression gate assumes at least for this tier (the log's standard
   * deviation), when its runs vary over hours more than baseline runs taken together show.
   */
  readonly ciNoiseFloor?: number
}

export type TierCatalog = { readonly tiers: ReadonlyMap<string, Tier>; readonly corpus: CorpusConfig }

export class TierError extends Error {
  readonly issues: { path: string; message: string }[]
  constructor(source: string, issues: { path: string; message: string }[]) {
    const s = issues.length === 1 ? '' : 's'
    super(
      `invalid ${source} (${issues.length} problem${s}):\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
    )
    this.name = 'TierError'
    this.issues = issues
  }
}

/** Validates tier definitions given as YAML text. `source` names the file in errors. */
export function parseTiers(yamlText: string, source = 'tiers.yaml'): TierCatalog {
  let raw: unknown
  try {
    raw = parseYaml(yamlText)
  } catch (error) {
    throw new TierError(source, [{ path: '(root)', message: `not YAML: ${(error as Error).message}` }])
  }
  const result = TiersFile.safeParse(raw)
  if (!result.success) {
    throw new TierError(
      source,
      result.error.issues.map((i) => ({
        path: i.path.map(String).join('.') || '(root)',
        message: i.message,
      })),
    )
  }
  const { defaults, corpus, tiers } = result.data
  const missingScenarios = Object.entries(tiers)
    .filter(([, t]) => !t.scenarios && !defaults.scenarios)
    .map(([name]) => ({ path: `tiers.${name}.scenarios`, message: 'no scenarios here nor in defaults' }))
  if (missingScenarios.length > 0) throw new TierError(source, missingScenarios)
  const resolved = new Map<string, Tier>()
  for (const [name, t] of Object.entries(tiers)) {
    resolved.set(
      name,
      Object.freeze({
        name,
        users: t.users,
        durationS: t.duration,
        rampUpS: t.ramp_up,
        expectedRps: t.expected_rps,
        latency: { percentile: t.latency.percentile, maxMs: t.latency.max_ms },
        errorRateMax: t.error_rate_max,
        thinkTimeS: t.think_time,
        scenarios: (t.scenarios ?? defaults.scenarios)!,
        loadModel: t.load_model ?? defaults.load_model,
        arrival: t.arrival ?? defaults.arrival,
        rpsTolerance: defaults.rps_tolerance,
        requestTimeoutS: defaults.request_timeout,
        drainS: defaults.drain,
        ciScale: t.ci?.duration_scale ?? 1,
        ciRuns: t.ci?.runs ?? 1,
        ...(t.ci?.noise_floor === undefined ? {} : { ciNoiseFloor: t.ci.noise_floor }),
      }),
    )
  }
  return Object.freeze({
    tiers: resolved,
    corpus: Object.freeze({ size: corpus.size, zipfExponent: corpus.zipf_exponent, models: corpus.models }),
  })
}

export function loadTiers(file = TIERS_FILE): TierCatalog {
  return parseTiers(readFileSync(file, 'utf8'), file)
}

export function getTier(catalog: TierCatalog, name: string): Tier {
  const tier = catalog.tiers.get(name)
  if (!tier)
    throw new TierError('tier name', [
      { path: name, message: `unknown tier; known: ${[...catalog.tiers.keys()].join(', ')}` },
    ])
  return tier
}

/** The tier as run with --duration-scale: duration and ramp-up scale, rates and users do not. */
export function scaleTier(tier: Tier, scale: number): Tier {
  if (!(scale > 0)) throw new RangeError(`duration scale must be > 0, got ${scale}`)
  return Object.freeze({ ...tier, durationS: tier.durationS * scale, rampUpS: tier.rampUpS * scale })
}
