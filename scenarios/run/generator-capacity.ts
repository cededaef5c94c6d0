// What one core of the harness can generate (written by `npm run bench:generator`), and the rule
// that uses it: a run whose achieved rate comes near the measured ceiling of its engine may have
// measured the generator, not the proxy.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { z } from 'zod'
import type { EngineName } from '../engines/plan.ts'

export const CAPACITY_FILE = new URL('../generator-capacity.json', import.meta.url).pathname

/** Above this share of the measured ceiling, a run's generator is called the limit. */
export const NEAR_CAPACITY = 0.8

const BenchRun = z.strictObject({
  engine: z.enum(['native', 'autocannon']),
  /** What answered: `plain` (a bare node:http server) or `mock-zero` (mock-openai, profile zero). */
  target: z.string(),
  connections: z.int().positive(),
  rps: z.number().nonnegative(),
  /** Generator CPU, 100 = one core: near 100 means the generator, not the server, was the limit. */
  cpu_percent: z.number().nonnegative(),
  /**
   * The rate one fully busy core would send: rps * 100 / cpu_percent (the generator's CPU cost per
   * request is about constant). Equal to rps when the generator was saturated; an extrapolation when
   * the server (or a busy machine) held it back.
   */
  rps_per_core: z.number().nonnegative(),
  p50_ms: z.number().nonnegative().nullable(),
  errors: z.int().nonnegative(),
})
export type BenchRun = z.infer<typeof BenchRun>

export const GeneratorCapacity = z.strictObject({
  measured_at: z.iso.datetime({ offset: true }),
  cpu_model: z.string(),
  cpu_count: z.int().positive(),
  node_version: z.string(),
  /** Generator and server each pinned to a core of their own (taskset). */
  pinned: z.boolean(),
  scenario: z.string(),
  duration_s: z.number().positive(),
  /** The ceiling of each engine: its fastest run against the targets. */
  engines: z.strictObject({ native: BenchRun, autocannon: BenchRun }),
  runs: z.array(BenchRun),
})
export type GeneratorCapacity = z.infer<typeof GeneratorCapacity>

export function readCapacity(file = CAPACITY_FILE): GeneratorCapacity | null {
  if (!existsSync(file)) return null
  try {
    return GeneratorCapacity.parse(JSON.parse(readFileSync(file, 'utf8')))
  } catch {
    return null
  }
}

export function writeCapacity(capacity: GeneratorCapacity, file = CAPACITY_FILE): void {
  writeFileSync(file, `${JSON.stringify(GeneratorCapacity.parse(capacity), null, 2)}\n`)
}

/** The note on the ceiling, and whether this run came near it. */
export function capacityVerdict(
  capacity: GeneratorCapacity | null,
  engine: EngineName,
  achievedRps: number,
  cpuModel: string,
): { note: string; near: boolean } | null {
  if (!capacity) return null
  const ceiling = capacity.engines[engine].rps_per_core
  if (!(ceiling > 0)) return null
  const share = achievedRps / ceiling
  const where = capacity.cpu_model === cpuModel ? 'this machine' : `another machine (${capacity.cpu_model})`
  const date = capacity.measured_at.slice(0, 10)
  return {
    near: share >= NEAR_CAPACITY,
    note: `generator ceiling: ${engine} sends at most ~${Math.round(ceiling)} req/s on one core (bench:generator on ${where}, ${date}, against a zero-latency ${capacity.engines[engine].target} server); this run used ${share < 0.001 ? 'under 0.1' : (share * 100).toFixed(1)} % of it${share >= NEAR_CAPACITY ? ': the generator may be the limit' : ''}.`,
  }
}
