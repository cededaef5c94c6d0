// The `capacity:` block of tiers.yaml: the realistic workload, the SLO the knee is judged by, the
// sweep's shape and the sizing assumptions. Every key has a default (the block may be absent); flags
// of `npm run capacity` override them (cli.ts). Problems are reported by field, as for the tiers.
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { type CorpusConfig, duration, parseTiers, scenarioList, TIERS_FILE, TierError } from '../tiers.ts'

const positiveInt = z.int().positive()
const ms = duration.transform((s) => s * 1000)

const Slo = z.strictObject({
  ttft_p95: ms.nullable().default(2000),
  itl_p95: ms.nullable().default(100),
  latency_p95: ms.nullable().default(null),
  error_rate_max: z.number().min(0).max(1).default(0.01),
})

const Sweep = z.strictObject({
  max_users: positiveInt.default(600),
  rates: z.int().min(2).default(7),
  refine: z.int().min(0).default(2),
  fit_share: z.number().gt(0).lt(1).default(0.6),
  warmup: duration.default(12),
  window: duration.refine((s) => s > 0, { message: 'window must be > 0' }).default(25),
  drain: duration.default(30),
  request_timeout: duration.default(60),
  /** Worker counts after the first: no held-out check, a shorter sweep. */
  other_workers: z
    .strictObject({ rates: z.int().min(2).default(4), refine: z.int().min(0).default(1) })
    .prefault({}),
})

const Sizing = z.strictObject({
  users: z.array(positiveInt).default([1000, 10_000, 100_000]),
  rates: z.array(z.number().positive()).default([]),
  think_time: duration.default(30),
  headroom: z.number().min(0).lt(1).default(0.3),
  instance_memory_mb: z.number().positive().default(2048),
})

const CapacityBlock = z.strictObject({
  scenarios: scenarioList.default([{ name: 'chat-stream-long', weight: 1 }]),
  mock_profile: z.string().min(1).default('realistic'),
  /** The proxy's response cache; off by default: real chat prompts rarely repeat word for word. */
  cache: z.boolean().default(false),
  workers: z.array(positiveInt).min(1).default([1, 2]),
  slo: Slo.prefault({}),
  sweep: Sweep.prefault({}),
  sizing: Sizing.prefault({}),
})

export type CapacityConfig = z.infer<typeof CapacityBlock> & {
  readonly corpus: CorpusConfig
  /** Where the SLO came from, for the report: the tiers file, or the flags that changed it. */
  readonly sloSource: string
}

/** The capacity block of a tiers file (its corpus too), defaults filled in. */
export function loadCapacityConfig(file = TIERS_FILE): CapacityConfig {
  const text = readFileSync(file, 'utf8')
  const corpus = parseTiers(text, file).corpus
  const raw = (parseYaml(text) as { capacity?: unknown } | null)?.capacity ?? {}
  const result = CapacityBlock.safeParse(raw)
  if (!result.success) {
    throw new TierError(
      file,
      result.error.issues.map((i) => ({
        path: ['capacity', ...i.path.map(String)].join('.'),
        message: i.message,
      })),
    )
  }
  return {
    ...result.data,
    corpus,
    sloSource: `${file.endsWith('tiers.yaml') ? 'tiers.yaml' : file} capacity.slo`,
  }
}
