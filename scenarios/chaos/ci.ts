// `npm run chaos:ci`: the scenarios that carry `ci: {scale}`, each at its scale, one after the other,
// gated on their assertions. Prints one line per scenario (and the failed assertions); exits 0 when
// every assertion held, 99 when one failed, 1 when a run broke, 130 when interrupted. The run
// directories are listed in reports/out/chaos-ci-latest.json.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { readCommandLine } from '../run/command-line.ts'
import { exitCodeOfAll, REPORTS_OUT } from '../run/runner.ts'
import { type ChaosOutcome, runChaos } from './runner.ts'
import { listScenarios, loadScenario, scaleScenario } from './scenario.ts'

export const CHAOS_LATEST = join(REPORTS_OUT, 'chaos-ci-latest.json')

export type ChaosCiOptions = {
  readonly scenarios?: readonly string[]
  readonly seed?: number
  readonly out?: string
  readonly proxyDir?: string
  readonly signal?: AbortSignal
  readonly progress?: NodeJS.WritableStream | null
}

/** The scenarios chaos:ci runs: those with a `ci` section, in catalogue order. */
export function ciScenarios(): string[] {
  return listScenarios().filter((name) => loadScenario(name).ci !== undefined)
}

export async function runChaosCi(
  options: ChaosCiOptions = {},
): Promise<{ outcomes: ChaosOutcome[]; exitCode: number; dir: string }> {
  const stamp = new Date().toISOString().replaceAll(/[-:]/g, '').slice(0, 15)
  const dir = options.out ?? join(REPORTS_OUT, `chaos-ci-${stamp}`)
  mkdirSync(dir, { recursive: true })
  const outcomes: ChaosOutcome[] = []
  for (const name of options.scenarios ?? ciScenarios()) {
    if (options.signal?.aborted) break
    const base = loadScenario(name)
    const scale = base.ci?.scale ?? 1
    outcomes.push(
      await runChaos({
        scenario: scaleScenario(base, scale),
        seed: options.seed,
        out: join(dir, name),
        proxyDir: options.proxyDir,
        command: `npm run chaos:ci (scenario ${name}, scale ${scale})`,
        signal: options.signal,
        progress: options.progress === undefined ? process.stderr : options.progress,
      }),
    )
  }
  mkdirSync(dirname(CHAOS_LATEST), { recursive: true })
  writeFileSync(
    CHAOS_LATEST,
    `${JSON.stringify({ dir, runs: outcomes.map((o) => ({ scenario: o.summary.run.scenario, dir: o.dir, status: o.summary.status })) }, null, 2)}\n`,
  )
  const exitCode = exitCodeOfAll(
    outcomes.map((o) => o.summary.status),
    options.signal?.aborted === true,
  )
  return { outcomes, exitCode, dir }
}

/** One line per scenario, then each failed assertion under it. */
export function formatCiTable(outcomes: readonly ChaosOutcome[]): string {
  const width = Math.max('scenario'.length, ...outcomes.map((o) => o.summary.run.scenario.length)) + 1
  const lines = [`${'scenario'.padEnd(width)} status   assertions  time    report`]
  for (const o of outcomes) {
    const all = o.summary.phases.flatMap((p) => p.assertions.map((a) => ({ phase: p.name, ...a })))
    const held = all.filter((a) => a.passed).length
    const report = relative(process.cwd(), join(o.dir, 'report.html'))
    lines.push(
      `${o.summary.run.scenario.padEnd(width)} ${o.summary.status.padEnd(8)} ${`${held}/${all.length}`.padEnd(11)} ${`${Math.round(o.summary.run.duration_s)} s`.padEnd(7)} ${report}`,
    )
    if (o.summary.status === 'broken') lines.push(`    ${o.summary.status_reason}`)
    for (const a of all.filter((x) => !x.passed))
      lines.push(`    FAIL ${a.phase}: ${a.expected} (actual: ${a.actual})`)
  }
  return lines.join('\n')
}

async function main(): Promise<number> {
  const { values } = readCommandLine({
    usage: 'npm run chaos:ci -- [options]',
    about:
      'The chaos scenarios that carry ci settings, each at its scale, gated on their assertions. Exits 0\n' +
      'when every assertion held, 99 when one failed, 1 when a run broke, 130 when interrupted.',
    flags: {
      scenarios: {
        type: 'string',
        value: 'a,b',
        help: 'the scenarios to run (default: every one with ci settings)',
      },
      seed: { type: 'integer', value: 'n', help: "seed of the runs' faults and load" },
      out: {
        type: 'string',
        value: 'dir',
        help: 'directory for the runs (default reports/out/chaos-ci-<time>)',
      },
      proxy: { type: 'string', value: 'dir', help: 'run the proxy of another checkout' },
      quiet: { type: 'boolean', help: 'no progress lines' },
    },
  })
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  process.once('SIGTERM', () => abort.abort())
  const started = Date.now()
  const { outcomes, exitCode, dir } = await runChaosCi({
    scenarios: values.scenarios?.split(','),
    seed: values.seed,
    out: values.out,
    proxyDir: values.proxy === undefined ? undefined : resolve(values.proxy),
    signal: abort.signal,
    progress: values.quiet ? null : process.stderr,
  })
  process.stdout.write(`\n${formatCiTable(outcomes)}\n\n`)
  process.stdout.write(
    `chaos runs in ${relative(process.cwd(), dir) || dir} (${Math.round((Date.now() - started) / 1000)} s); exit ${exitCode}\n`,
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
