// What one core of the harness can generate (written by `npm run bench:generator`), and the rule
// that uses it: a run whose achieved rate comes near the measured ceiling of its engine may have
// measured the generator, not the proxy. Streams cost the generator more than plain answers (every
// chunk is parsed and timed), so the ceiling of a run is that of its own mix of the two.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { z } from 'zod'
import { SCENARIOS } from '../catalog.ts'
import type { EngineName } from '../engines/plan.ts'
import type { WeightedScenario } from '../scenario.ts'

export const CAPACITY_FILE = new URL('../generator-capacity.json', import.meta.url).pathname

/** Above this share of the measured ceiling, a run's generator is called the limit. */
export const NEAR_CAPACITY = 0.8

const BenchRun = z.strictObject({
  engine: z.enum(['native', 'autocannon']),
  /** What answered: `plain` (a bare node:http server) or `mock-zero` (mock-openai, profile zero). */
  target: z.string(),
  /** `chat` (one JSON answer) or `chat-stream` (SSE, every chunk parsed); absent: chat. */
  scenario: z.enum(['chat', 'chat-stream']).optional(),
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
  /** The same for streamed chat completions (SSE requests per second), when measured. */
  streaming: z.strictObject({ native: BenchRun, autocannon: BenchRun }).optional(),
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

/** Share of a mix's requests that are streamed (by weight). */
export function streamedShare(mix: readonly WeightedScenario[]): number {
  const total = mix.reduce((sum, s) => sum + s.weight, 0)
  if (total <= 0) return 0
  return mix.reduce((sum, s) => sum + (SCENARIOS[s.name]?.stream ? s.weight : 0), 0) / total
}

/**
 * The ceiling (req/s on one core) of an engine for a mix: each request costs the generator 1 / ceiling
 * of a core-second, the streamed ones at the streaming ceiling, so the mix's ceiling is the weighted
 * harmonic mean. Without a streaming measurement, the plain one.
 */
export function mixCeiling(capacity: GeneratorCapacity, engine: EngineName, streamed: number): number {
  const plain = capacity.engines[engine].rps_per_core
  const stream = capacity.streaming?.[engine].rps_per_core
  if (!stream || !(stream > 0) || streamed <= 0) return plain
  return 1 / ((1 - streamed) / plain + streamed / stream)
}

/** The note on the ceiling, and whether this run came near it. */
export function capacityVerdict(
  capacity: GeneratorCapacity | null,
  engine: EngineName,
  achievedRps: number,
  cpuModel: string,
  mix: readonly WeightedScenario[] = [],
): { note: string; near: boolean } | null {
  if (!capacity) return null
  const streamed = streamedShare(mix)
  const ceiling = mixCeiling(capacity, engine, streamed)
  if (!(ceiling > 0)) return null
  const share = achievedRps / ceiling
  const where = capacity.cpu_model === cpuModel ? 'this machine' : `another machine (${capacity.cpu_model})`
  const date = capacity.measured_at.slice(0, 10)
  const streams = capacity.streaming
    ? `; ${Math.round(capacity.streaming[engine].rps_per_core)} streams/s alone, so ~${Math.round(ceiling)} req/s for this mix (${Math.round(streamed * 100)} % streamed)`
    : streamed > 0
      ? '; streams were not measured (re-run bench:generator): the ceiling of this mix is lower'
      : ''
  return {
    near: share >= NEAR_CAPACITY,
    note: `generator ceiling: ${engine} sends at most ~${Math.round(capacity.engines[engine].rps_per_core)} req/s on one core (bench:generator on ${where}, ${date}, against a zero-latency ${capacity.engines[engine].target} server${streams}); this run used ${share < 0.001 ? 'under 0.1' : (share * 100).toFixed(1)} % of it${share >= NEAR_CAPACITY ? ': the generator may be the limit' : ''}.`,
  }
}
