// ci/baselines/<tier>.json: the reference a CI run is compared with. It holds up to ten earlier runs
// of the tier (same engine, model, scale and seed; five by default), each with its headline figures
// and its latency samples by 1-second bucket: the gate reduces each run to its percentiles and learns
// the run-to-run noise (a busier machine, another JIT path) from how much these runs differ.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import type { RunSummary } from '../reports/src/summary.ts'
import type { SamplesFile } from '../scenarios/run/run-files.ts'

export { readSamples, SamplesFile } from '../scenarios/run/run-files.ts'

export const BASELINES_DIR = new URL('./baselines/', import.meta.url).pathname
const REPO_ROOT = new URL('..', import.meta.url).pathname

/** Version 2: up to 10 runs, each with its median; samples include dropped arrivals' lower-bound latency. */
export const BASELINE_VERSION = 2
export const MAX_BASELINE_RUNS = 10

const BaselineRun = z.strictObject({
  run_id: z.string().min(1),
  created_at: z.iso.datetime({ offset: true }),
  git_commit: z.string().nullable(),
  /** The tier's latency percentile (e.g. p95) of the run, ms. */
  latency_ms: z.number().nonnegative().nullable(),
  /** Its median, ms. */
  latency_p50_ms: z.number().nonnegative().nullable(),
  /**
   * The median of the proxy's own time (Server-Timing `proxy;dur`), ms; null when the target sent
   * none, absent from files written before the gate compared it.
   */
  proxy_own_p50_ms: z.number().nonnegative().nullable().optional(),
  error_rate: z.number().min(0).max(1),
  /** Requests and errors of the run (the error gate's counts); older files derive them from the samples. */
  requests: z.int().nonnegative().optional(),
  errors: z.int().nonnegative().optional(),
  /** Successful requests per second after the ramp-up. */
  rps: z.number().nonnegative(),
  /** Latencies (ms) by 1-second bucket: answers, dropped arrivals, failures at least the median answer long. */
  samples_ms: z.array(z.array(z.number().nonnegative())),
})
export type BaselineRun = z.infer<typeof BaselineRun>

export const BaselineFile = z.strictObject({
  schema_version: z.literal(BASELINE_VERSION),
  tier: z.string().min(1),
  engine: z.enum(['native', 'autocannon']),
  load_model: z.enum(['open', 'closed']),
  duration_scale: z.number().positive(),
  seed: z.int(),
  mock_profile: z.string().nullable(),
  /** The proxy's settings its runs took from the environment (run.proxy_env); absent when none. */
  proxy_env: z.record(z.string(), z.string()).optional(),
  latency_percentile: z.number().gt(0).lt(100),
  updated_at: z.iso.datetime({ offset: true }),
  environment: z.strictObject({
    cpu_model: z.string(),
    cpu_count: z.int().positive(),
    node_version: z.string(),
  }),
  runs: z.array(BaselineRun).min(1).max(MAX_BASELINE_RUNS),
})
export type BaselineFile = z.infer<typeof BaselineFile>

export function baselinePath(tier: string, dir = BASELINES_DIR): string {
  return join(dir, `${tier}.json`)
}

/** A baseline file that cannot be used as it is: written by another version, or damaged. */
export class BaselineError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BaselineError'
  }
}

/** The machine a baseline was taken on, as the gate matches it: runs on another kind are not compared. */
export type Machine = BaselineFile['environment']

export function machineName(machine: Machine): string {
  return `${machine.cpu_model} (${machine.cpu_count} CPUs, node ${machine.node_version})`
}

/** The directory of another machine's baselines under ci/baselines/machines/. */
export function machineSlug(machine: Machine): string {
  const name = `${machine.cpu_model} ${machine.cpu_count}cpu node ${machine.node_version}`
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
}

const MACHINES = 'machines'

/**
 * Every machine's baseline of `tier`: ci/baselines/<tier>.json first (the machine the committed
 * files come from), then those of other kinds of machine, ci/baselines/machines/<machine>/<tier>.json.
 * `name` is the file's path under ci/baselines, as verdicts cite it.
 */
export function readBaselines(tier: string, dir = BASELINES_DIR): { name: string; baseline: BaselineFile }[] {
  const found: { name: string; baseline: BaselineFile }[] = []
  const main = readBaseline(tier, dir)
  if (main) found.push({ name: `${tier}.json`, baseline: main })
  const machines = join(dir, MACHINES)
  if (!existsSync(machines)) return found
  for (const slug of readdirSync(machines).sort()) {
    const baseline = readBaseline(tier, join(machines, slug))
    if (baseline) found.push({ name: `${MACHINES}/${slug}/${tier}.json`, baseline })
  }
  return found
}

export function readBaseline(tier: string, dir = BASELINES_DIR): BaselineFile | null {
  const file = baselinePath(tier, dir)
  if (!existsSync(file)) return null
  const raw = JSON.parse(readFileSync(file, 'utf8'))
  if (raw?.schema_version !== BASELINE_VERSION) {
    throw new BaselineError(
      `${file} has schema version ${raw?.schema_version}, this gate reads ${BASELINE_VERSION}: take new baseline runs with npm run baseline:update -- --fresh`,
    )
  }
  return BaselineFile.parse(raw)
}

/** The proxy's settings from the environment, as one text ('none' without any), in a stable order. */
export function proxyEnvText(env: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(env ?? {}).sort(([a], [b]) => a.localeCompare(b))
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k}=${v}`).join(', ')
}

/** Runs are comparable when they ran the same tier the same way. */
export function sameSetup(a: RunSummary, b: RunSummary): boolean {
  return (
    a.run.tier === b.run.tier &&
    a.run.engine === b.run.engine &&
    a.run.load_model === b.run.load_model &&
    a.run.duration_scale === b.run.duration_scale &&
    a.run.seed === b.run.seed &&
    a.run.mock_profile === b.run.mock_profile &&
    proxyEnvText(a.run.proxy_env) === proxyEnvText(b.run.proxy_env) &&
    (a.run.proxy_node_flags ?? []).join(' ') === (b.run.proxy_node_flags ?? []).join(' ')
  )
}

/** The baseline file of finished runs (newest first), each with its summary and samples.json. */
export function baselineFromRuns(
  runs: readonly { summary: RunSummary; samples: SamplesFile }[],
): BaselineFile {
  if (runs.length === 0) throw new Error('a baseline needs at least one run')
  const [{ summary: first }] = runs
  const p = first.tier.latency_target.percentile
  return BaselineFile.parse({
    schema_version: BASELINE_VERSION,
    tier: first.run.tier,
    engine: first.run.engine,
    load_model: first.run.load_model,
    duration_scale: first.run.duration_scale,
    seed: first.run.seed,
    mock_profile: first.run.mock_profile,
    ...(first.run.proxy_env ? { proxy_env: first.run.proxy_env } : {}),
    latency_percentile: p,
    updated_at: new Date().toISOString(),
    environment: {
      cpu_model: first.environment.cpu_model,
      cpu_count: first.environment.cpu_count,
      node_version: first.environment.node_version,
    },
    runs: runs.map(({ summary, samples }) => ({
      run_id: summary.run.id,
      created_at: summary.run.ended_at,
      git_commit: summary.environment.git_commit,
      latency_ms: summary.baselines.find((b) => b.metric === `latency_p${p}_ms`)?.actual ?? null,
      latency_p50_ms: summary.totals.latency_ms?.p50 ?? null,
      proxy_own_p50_ms: ownTimeOf(summary),
      error_rate: summary.totals.error_rate,
      requests: summary.totals.requests,
      errors: summary.totals.errors,
      rps:
        summary.totals.rps_after_ramp_up ??
        summary.baselines.find((b) => b.metric === 'rps_after_ramp_up')?.actual ??
        summary.totals.rps,
      samples_ms: samples.latency_ms,
    })),
  })
}

/** The median of the proxy's own time in a run (Server-Timing, as the engine summed it up), or null. */
export function ownTimeOf(summary: RunSummary): number | null {
  return summary.totals.server_timing?.proxy_ms.p50 ?? null
}

/**
 * The requests and errors of a baseline run: as recorded, or for a run recorded without them, from its
 * samples (every answer, dropped arrival and slow failure, by second: all of them at the tiers' rates,
 * which stay under the 500 a second kept) and its error rate.
 */
export function baselineCounts(run: BaselineRun): { requests: number; errors: number } {
  if (run.requests !== undefined && run.errors !== undefined)
    return { requests: run.requests, errors: run.errors }
  let samples = 0
  for (const bucket of run.samples_ms) samples += bucket.length
  const requests = run.error_rate < 1 ? Math.round(samples / (1 - run.error_rate)) : samples
  return { requests, errors: Math.round(run.error_rate * requests) }
}

/**
 * Writes a baseline where the gate finds it for its machine: ci/baselines/<tier>.json when that file
 * is this kind of machine's, or there is none (or it cannot be read); else beside it, under
 * machines/<machine>/, so that another kind of machine's baseline is kept, not replaced.
 */
export function writeBaseline(baseline: BaselineFile, dir = BASELINES_DIR): string {
  let main: BaselineFile | null = null
  try {
    main = readBaseline(baseline.tier, dir)
  } catch (error) {
    const unreadable =
      error instanceof BaselineError || error instanceof z.ZodError || error instanceof SyntaxError
    if (!unreadable) throw error
  }
  const mine = main === null || machineName(main.environment) === machineName(baseline.environment)
  const at = mine ? dir : join(dir, MACHINES, machineSlug(baseline.environment))
  mkdirSync(at, { recursive: true })
  const file = baselinePath(baseline.tier, at)
  writeFileSync(file, `${JSON.stringify(BaselineFile.parse(baseline), null, 2)}\n`)
  formatWithBiome(file)
  return file
}

/** Lays the file out as `npm run check` wants it (number arrays filled to the line width), when biome is installed. */
function formatWithBiome(file: string): void {
  const biome = join(REPO_ROOT, 'node_modules/.bin/biome')
  if (!existsSync(biome)) return
  try {
    execFileSync(biome, ['format', '--write', file], { cwd: REPO_ROOT, stdio: 'ignore' })
  } catch {
    // Formatting is cosmetic; the content is already written and valid.
  }
}
