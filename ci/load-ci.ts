// `npm run load:ci`: every tier, time-scaled (tiers.yaml `ci.duration_scale`, about 45 s each), gated
// on the tier's seed baselines AND on ci/baselines/<tier>.json by the regression rule (ci/gate.ts).
// Prints one table; exits 0 when all held, 99 on a failed baseline or a significant regression,
// 1 when a run broke. The run directories are listed in reports/out/ci-latest.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { exitCodeOfAll, REPORTS_OUT, runTier } from '../scenarios/run/runner.ts'
import { loadTiers } from '../scenarios/tiers.ts'
import { gateRun } from './apply-gate.ts'
import { readBaseline } from './baseline-file.ts'
import { type CiRow, formatCiTable } from './ci-table.ts'

export const CI_TIERS = ['light', 'medium', 'heavy', 'extreme'] as const
export const LATEST = join(REPORTS_OUT, 'ci-latest.json')

export type CiOptions = {
  readonly tiers?: readonly string[]
  readonly engine?: 'native' | 'autocannon'
  readonly seed?: number
  readonly out?: string
  /** false: run only, no regression gate (baseline:update uses this). */
  readonly gate?: boolean
  readonly signal?: AbortSignal
  readonly progress?: NodeJS.WritableStream | null
}

export async function runCi(
  options: CiOptions = {},
): Promise<{ rows: CiRow[]; exitCode: number; dir: string }> {
  const catalog = loadTiers()
  const stamp = new Date().toISOString().replaceAll(/[-:]/g, '').slice(0, 15)
  const dir = options.out ?? join(REPORTS_OUT, `ci-${stamp}`)
  mkdirSync(dir, { recursive: true })
  const rows: CiRow[] = []
  for (const name of options.tiers ?? CI_TIERS) {
    if (options.signal?.aborted) break
    const tier = catalog.tiers.get(name)
    if (!tier) throw new Error(`unknown tier '${name}'`)
    const outcome = await runTier({
      tier: name,
      engine: options.engine,
      durationScale: tier.ciScale,
      seed: options.seed,
      out: join(dir, name),
      command: `npm run load:ci (tier ${name}, scale ${tier.ciScale})`,
      signal: options.signal,
      progress: options.progress === undefined ? process.stderr : options.progress,
    })
    const gated =
      options.gate === false
        ? { summary: outcome.summary, skippedReason: 'not gated' }
        : gateRun(outcome.dir, readBaseline(name))
    rows.push({ dir: outcome.dir, summary: gated.summary, gateNote: gated.skippedReason })
  }
  writeFileSync(
    LATEST,
    `${JSON.stringify({ dir, runs: rows.map((r) => ({ tier: r.summary.run.tier, dir: r.dir, status: r.summary.status })) }, null, 2)}\n`,
  )
  const exitCode = exitCodeOfAll(
    rows.map((r) => r.summary.status),
    options.signal?.aborted === true,
  )
  return { rows, exitCode, dir }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      tiers: { type: 'string' },
      engine: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
    },
  })
  const engine = values.engine === undefined ? undefined : values.engine
  if (engine !== undefined && engine !== 'native' && engine !== 'autocannon')
    throw new Error(`--engine: '${engine}'`)
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  process.once('SIGTERM', () => abort.abort())
  const started = Date.now()
  const { rows, exitCode, dir } = await runCi({
    tiers: values.tiers?.split(','),
    engine,
    seed: values.seed === undefined ? undefined : Number(values.seed),
    out: values.out,
    signal: abort.signal,
  })
  process.stdout.write(`\n${formatCiTable(rows)}\n\n`)
  process.stdout.write(
    `runs in ${relative(process.cwd(), dir) || dir} (${Math.round((Date.now() - started) / 1000)} s); exit ${exitCode}\n`,
  )
  return exitCode
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${(error as Error)?.stack ?? error}\n`)
      process.exit(1)
    },
  )
}
