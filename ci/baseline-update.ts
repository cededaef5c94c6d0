// `npm run baseline:update`: writes ci/baselines/<tier>.json from the latest load:ci runs of each
// tier (up to --runs, default 10, newest first, all run the same way as the newest). With
// --fresh, or when there are none, it runs the load:ci tiers first. A run that broke, failed a seed
// baseline or was inconclusive (its generator may have been the limit) is never taken; one that
// failed only on the regression gate may be (an accepted change).
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { RunSummary } from '../reports/src/summary.ts'
import { readCommandLine } from '../scenarios/run/command-line.ts'
import { REPORTS_OUT } from '../scenarios/run/runner.ts'
import { readSummary } from './apply-gate.ts'
import {
  baselineFromRuns,
  MAX_BASELINE_RUNS,
  readSamples,
  sameSetup,
  writeBaseline,
} from './baseline-file.ts'
import { CI_TIERS, runCi, runDirName } from './load-ci.ts'
import { runMain } from './run-main.ts'

/** load:ci run directories of a tier (`<tier>`, `<tier>-2`, ... of each ci-* directory), newest first. */
export function ciRunsOf(tier: string, out = REPORTS_OUT): string[] {
  if (!existsSync(out)) return []
  const runs: string[] = []
  for (const name of readdirSync(out)
    .filter((n) => n.startsWith('ci-'))
    .sort()
    .reverse()) {
    for (let round = MAX_BASELINE_RUNS; round >= 1; round--) {
      const dir = join(out, name, runDirName(tier, round))
      if (existsSync(join(dir, 'summary.json'))) runs.push(dir)
    }
  }
  return runs
}

/** A run that may be a baseline: it passed its seed baselines, and its proxy ran as shipped (no experiment). */
export function acceptable(summary: RunSummary): boolean {
  return (
    summary.run.proxy_node_flags === undefined &&
    summary.status !== 'broken' &&
    summary.status !== 'inconclusive' &&
    summary.baselines.every((b) => b.passed)
  )
}

async function main(): Promise<number> {
  const { values } = readCommandLine({
    usage: 'npm run baseline:update -- [options]',
    about:
      'Writes ci/baselines/<tier>.json from the latest load:ci runs of each tier that passed their seed\n' +
      'baselines; with --fresh, or when a tier has none, it runs the load:ci tiers first.',
    flags: {
      fresh: { type: 'boolean', help: 'run the tiers first, whatever runs there are' },
      tiers: { type: 'string', value: 'a,b', help: 'the tiers to update (default: every load:ci tier)' },
      runs: {
        type: 'integer',
        // Ten: with one current run, five leave the t-test 4 degrees of freedom, and a tier's own
        // time could then not tell a proxy doing twice the work from chance (ci/README.md).
        default: MAX_BASELINE_RUNS,
        min: 1,
        max: MAX_BASELINE_RUNS,
        value: 'n',
        help: 'runs of each tier a baseline is taken from, newest first',
      },
    },
  })
  const tiers = values.tiers?.split(',') ?? [...CI_TIERS]
  const wanted = values.runs
  if (values.fresh || tiers.some((t) => ciRunsOf(t).length === 0)) {
    process.stderr.write(`running the load:ci tiers ${wanted} times to take new baseline runs\n`)
    await runCi({ tiers, gate: false, runs: wanted })
  }
  let missing = 0
  for (const tier of tiers) {
    const runs: { summary: RunSummary; samples: ReturnType<typeof readSamples> }[] = []
    for (const dir of ciRunsOf(tier)) {
      const summary = readSummary(dir)
      if (!acceptable(summary)) {
        const why = summary.run.proxy_node_flags
          ? `an experiment: the proxy started with node ${summary.run.proxy_node_flags.join(' ')}`
          : `${summary.status}: ${summary.status_reason ?? ''}`
        process.stderr.write(`${tier}: skipping ${summary.run.id} (${why})\n`)
        continue
      }
      if (runs.length > 0 && !sameSetup(runs[0].summary, summary)) continue
      runs.push({ summary, samples: readSamples(dir) })
      if (runs.length === wanted) break
    }
    if (runs.length === 0) {
      process.stderr.write(`${tier}: no passing load:ci run to take\n`)
      missing++
      continue
    }
    const file = writeBaseline(baselineFromRuns(runs))
    const ids = runs.map((r) => r.summary.run.id).join(', ')
    process.stdout.write(`${tier}: ${file} from ${runs.length} run(s): ${ids}\n`)
    if (runs.length < wanted) {
      process.stderr.write(
        `${tier}: only ${runs.length} of ${wanted} runs; run load:ci again and update, for a baseline that knows the run-to-run noise\n`,
      )
    }
  }
  return missing > 0 ? 99 : 0
}

if (import.meta.main) runMain(main)
