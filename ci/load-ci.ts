// `npm run load:ci`: every tier, time-scaled (tiers.yaml `ci.duration_scale`, about 45 s each), gated
// on the tier's seed baselines AND on ci/baselines/<tier>.json by the regression rule (ci/gate.ts).
// A tier with `ci.runs` > 1 runs that many times, in rounds (every tier once, then the tiers that want
// more), so that its runs are spread over the machine's moods; the gate judges them together.
// Prints one table; exits 0 when all held, 99 on a failed baseline or a significant regression, 3 when
// a run was inconclusive (its generator may have been the limit) and nothing failed, 1 when a run
// broke, 130 when interrupted. A tier the regression gate could not judge (no baseline for this kind
// of machine, another setup) keeps the status its seed baselines gave it, and its summary and report
// say it was not gated; with --require-gate it is inconclusive instead. The run directories are
// listed in reports/out/ci-latest.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { readCommandLine } from '../scenarios/run/command-line.ts'
import { exitCodeOfAll, REPORTS_OUT, runTier } from '../scenarios/run/runner.ts'
import { loadTiers } from '../scenarios/tiers.ts'
import {
  type GateOutcome,
  gateRuns,
  type NamedBaseline,
  readSummary,
  skipGate,
  tierRule,
} from './apply-gate.ts'
import { BaselineError, readBaselines } from './baseline-file.ts'
import { type CiRow, formatCiTable } from './ci-table.ts'
import { runMain } from './run-main.ts'

export const CI_TIERS = ['light', 'medium', 'heavy', 'extreme'] as const
export const LATEST = join(REPORTS_OUT, 'ci-latest.json')

export type CiOptions = {
  readonly tiers?: readonly string[]
  readonly engine?: 'native' | 'autocannon'
  readonly seed?: number
  readonly out?: string
  /** false: run only, no regression gate (baseline:update uses this). */
  readonly gate?: boolean
  /** A tier the regression gate cannot judge is inconclusive, not passed (apply-gate.ts `requireGate`). */
  readonly requireGate?: boolean
  /** Runs of every tier, instead of each tier's `ci.runs`. */
  readonly runs?: number
  /**
   * Another mock profile (name or path) than the baselines': an experiment, compared with the baselines
   * all the same (a profile 2 ms slower to the first token shows what the gate catches).
   */
  readonly mockProfile?: string
  /**
   * Node options for the proxy after its own: an experiment (a flag's effect on its speed, or code
   * made slower on purpose: --no-turbofan --no-maglev), compared with the baselines all the same.
   */
  readonly proxyNodeFlags?: readonly string[]
  readonly signal?: AbortSignal
  readonly progress?: NodeJS.WritableStream | null
}

/** The directory of a tier's run: `<tier>` for the first, `<tier>-2`, `<tier>-3`, ... after. */
export function runDirName(tier: string, round: number): string {
  return round === 1 ? tier : `${tier}-${round}`
}

/** The exit code of a set of runs: interrupted, broken, failed, inconclusive, passed, in that order. */
export async function runCi(
  options: CiOptions = {},
): Promise<{ rows: CiRow[]; exitCode: number; dir: string }> {
  const catalog = loadTiers()
  const stamp = new Date().toISOString().replaceAll(/[-:]/g, '').slice(0, 15)
  const dir = options.out ?? join(REPORTS_OUT, `ci-${stamp}`)
  mkdirSync(dir, { recursive: true })
  const names = options.tiers ?? CI_TIERS
  const tiers = names.map((name) => {
    const tier = catalog.tiers.get(name)
    if (!tier) throw new Error(`unknown tier '${name}'`)
    return { name, scale: tier.ciScale, runs: options.runs ?? tier.ciRuns }
  })
  const dirs = new Map<string, string[]>(names.map((name) => [name, []]))
  const rounds = Math.max(...tiers.map((t) => t.runs))
  for (let round = 1; round <= rounds; round++) {
    for (const tier of tiers) {
      if (options.signal?.aborted || tier.runs < round) continue
      const outcome = await runTier({
        tier: tier.name,
        engine: options.engine,
        durationScale: tier.scale,
        seed: options.seed,
        mockProfile: options.mockProfile,
        proxyNodeFlags: options.proxyNodeFlags,
        out: join(dir, runDirName(tier.name, round)),
        command: `npm run load:ci (tier ${tier.name}, scale ${tier.scale}, run ${round} of ${tier.runs}${flagsNote(options.proxyNodeFlags)})`,
        signal: options.signal,
        progress: options.progress === undefined ? process.stderr : options.progress,
      })
      dirs.get(tier.name)?.push(outcome.dir)
    }
  }
  const rows: CiRow[] = []
  for (const name of names) {
    const runDirs = dirs.get(name) ?? []
    if (runDirs.length === 0) continue
    const gated = gate(name, runDirs, options)
    rows.push({
      dir: runDirs[runDirs.length - 1],
      dirs: runDirs,
      summary: gated[gated.length - 1].summary,
      summaries: gated.map((g) => g.summary),
      gateNote: gated[0].skippedReason,
    })
  }
  writeFileSync(
    LATEST,
    `${JSON.stringify(
      {
        dir,
        runs: rows.flatMap((r) =>
          r.summaries.map((s, i) => ({ tier: s.run.tier, dir: r.dirs[i], status: s.status })),
        ),
      },
      null,
      2,
    )}\n`,
  )
  const exitCode = exitCodeOfAll(
    rows.flatMap((r) => r.summaries.map((s) => s.status)),
    options.signal?.aborted,
  )
  return { rows, exitCode, dir }
}

function gate(tier: string, runDirs: readonly string[], options: CiOptions): GateOutcome[] {
  // Runs taken to become baselines are judged by nothing yet, and their summaries claim no gate.
  if (options.gate === false)
    return runDirs.map((dir) => ({ summary: readSummary(dir), skippedReason: 'not gated' }))
  const requireGate = options.requireGate === true
  let baselines: NamedBaseline[]
  try {
    baselines = readBaselines(tier)
  } catch (error) {
    if (error instanceof BaselineError) return skipGate(runDirs, error.message, { requireGate })
    throw error
  }
  return gateRuns(runDirs, baselines, {
    allowProfileChange: options.mockProfile !== undefined,
    rule: tierRule(tier),
    requireGate,
  })
}

/** How a run's proxy was started differently, for its command. */
function flagsNote(flags: readonly string[] | undefined): string {
  return flags && flags.length > 0 ? `; the proxy started with node ${flags.join(' ')}` : ''
}

async function main(): Promise<number> {
  const { values } = readCommandLine({
    usage: 'npm run load:ci -- [options]',
    about:
      'Every tier, time-scaled, gated on its seed baselines and on ci/baselines/<tier>.json. Exits 0 when\n' +
      'all held, 99 on a failed baseline or a significant regression, 3 when a run was inconclusive and\n' +
      'nothing failed, 1 when a run broke, 130 when interrupted. A tier with no baseline to compare with\n' +
      'keeps the status its seed baselines gave it (its report says it was not gated), unless --require-gate.',
    flags: {
      tiers: {
        type: 'string',
        value: 'a,b',
        help: 'the tiers to run (default: every tier with ci settings)',
      },
      engine: { type: 'string', choices: ['native', 'autocannon'], help: 'load generator (default native)' },
      seed: { type: 'integer', value: 'n', help: "seed of the runs' random choices" },
      out: { type: 'string', value: 'dir', help: 'directory for the runs (default reports/out/ci-<time>)' },
      runs: {
        type: 'integer',
        min: 1,
        max: 5,
        value: 'n',
        help: "runs of each tier (default: the tier's ci.runs)",
      },
      'mock-profile': {
        type: 'string',
        value: 'name',
        help: "the mock providers' profile (default the tier's)",
      },
      'proxy-node-flags': {
        type: 'string',
        value: "'--flag ...'",
        help: "node options for the proxy after its own, as --proxy-node-flags='--a --b' (an experiment, gated all the same)",
      },
      'require-gate': {
        type: 'boolean',
        help: 'a tier the regression gate cannot judge (no baseline for this kind of machine, another setup) is inconclusive, exit 3',
      },
    },
  })
  const { engine, runs } = values
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  process.once('SIGTERM', () => abort.abort())
  const started = Date.now()
  const { rows, exitCode, dir } = await runCi({
    tiers: values.tiers?.split(','),
    engine,
    seed: values.seed,
    out: values.out,
    runs,
    mockProfile: values['mock-profile'],
    proxyNodeFlags: values['proxy-node-flags']?.split(/\s+/).filter(Boolean),
    requireGate: values['require-gate'],
    signal: abort.signal,
  })
  process.stdout.write(`\n${formatCiTable(rows)}\n\n`)
  process.stdout.write(
    `runs in ${relative(process.cwd(), dir) || dir} (${Math.round((Date.now() - started) / 1000)} s); exit ${exitCode}\n`,
  )
  return exitCode
}

if (import.meta.main) runMain(main)
