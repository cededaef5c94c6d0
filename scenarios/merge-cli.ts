// `npm run load:merge -- <shard dir>... [--out dir]`: merges the runs of one split run (its execution
// segments, `--segment i/N`) into one run, exactly (run/merge.ts), writes its summary.json, report.html
// and samples beside it, and judges it as one run: the tier's baselines and the regression gate against
// ci/baselines/<tier>.json. Exits as `npm run load`: 0 passed, 99 a baseline failed or a metric
// regressed, 3 inconclusive (a generator may have been the limit), 1 a shard broke or is missing,
// 2 bad arguments (directories that are not shards of one run).
import { join, relative } from 'node:path'
import { gateRun, skipGate, tierRule } from '../ci/apply-gate.ts'
import { BaselineError, readBaselines } from '../ci/baseline-file.ts'
import type { RunSummary } from '../reports/src/summary.ts'
import { parseArgsOr } from './run/command-line.ts'
import { commandLine, exitWith } from './run/interrupt.ts'
import { MergeError } from './run/merge.ts'
import { type MergeOptions, mergeRunDirs } from './run/merge-run.ts'
import { exitCodeOf } from './run/runner.ts'
import { formatRunTable } from './run/table.ts'

const USAGE = `usage: npm run load:merge -- <shard dir>... [options]      (or: node scenarios/merge-cli.ts ...)

  <shard dir>...               the run directories of the shards (each with summary.json, histograms.json,
                               samples.json, ticks.ndjson), e.g. reports/out/run/shard-*
  --out <dir>                  the merged run's directory (default reports/out/<run-id>)
  --tiers <file>               the tier definitions the shards ran (default tiers.yaml)`

export type MergeOutcome = {
  readonly summary: RunSummary
  readonly dir: string
  readonly exitCode: number
  /** Why the regression gate gave no verdict (no baseline, another setup), or null. */
  readonly gateNote: string | null
}

/** Merges shard runs, then judges the merged run by the regression gate of its tier. */
export function mergeAndGate(dirs: readonly string[], options: MergeOptions): MergeOutcome {
  const merged = mergeRunDirs(dirs, options)
  let gateNote: string | null
  let summary = merged.summary
  try {
    const tier = summary.run.tier
    const gated = gateRun(merged.dir, readBaselines(tier), {
      rule: tierRule(tier, options.tiersFile),
    })
    summary = gated.summary
    gateNote = gated.skippedReason
  } catch (error) {
    if (!(error instanceof BaselineError)) throw error
    gateNote = error.message
    summary = skipGate([merged.dir], gateNote)[0].summary
  }
  return { summary, dir: merged.dir, exitCode: exitCodeOf(summary.status), gateNote }
}

/** The merged run's table, the gate's note and the exit code, as the CLIs print them. */
export function formatMergeOutcome(outcome: MergeOutcome): string {
  const report = join(outcome.dir, 'report.html')
  return [
    formatRunTable(outcome.summary, relative(process.cwd(), report) || report),
    ...(outcome.gateNote ? [`  regression gate: not applied (${outcome.gateNote})`] : []),
    `  exit ${outcome.exitCode}`,
  ].join('\n')
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgsOr(
    {
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        tiers: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    fail,
  )
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (positionals.length === 0) fail('name the shard directories to merge')
  try {
    const outcome = mergeAndGate(positionals, {
      out: values.out,
      tiersFile: values.tiers,
      command: commandLine('node scenarios/merge-cli.ts'),
    })
    process.stdout.write(`${formatMergeOutcome(outcome)}\n`)
    return outcome.exitCode
  } catch (error) {
    if (!(error instanceof MergeError)) throw error
    process.stderr.write(`cannot merge: ${error.message}\n`)
    return error.exitCode
  }
}

if (import.meta.main) exitWith(main)
