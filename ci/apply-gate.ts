// Applies the regression rule to a finished run: compares its latency samples with the tier's
// baseline file, writes the summary's `regression` section (and `failed` on a significant
// regression), and re-renders the report from the updated summary.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseSummary, type RunSummary } from '../reports/src/summary.ts'
import { streamFor } from '../scenarios/random.ts'
import { writeRunFiles } from '../scenarios/run/runner.ts'
import { type BaselineFile, readSamples } from './baseline-file.ts'
import { compareLatency, DEFAULT_RULE, describeRule, type GateRule } from './gate.ts'

export type GateOutcome = {
  summary: RunSummary
  /** Why no regression verdict was given (no baseline, another engine, a broken run, ...). */
  skippedReason: string | null
}

export function readSummary(runDir: string): RunSummary {
  return parseSummary(readFileSync(join(runDir, 'summary.json'), 'utf8'))
}

export function gateRun(
  runDir: string,
  baseline: BaselineFile | null,
  rule: Partial<GateRule> = {},
): GateOutcome {
  const summary = readSummary(runDir)
  const skip = (reason: string) => ({ summary, skippedReason: reason })
  if (summary.status === 'broken') return skip('the run broke')
  if (!baseline) return skip(`no baseline (ci/baselines/${summary.run.tier}.json): npm run baseline:update`)
  const keys = ['engine', 'load_model', 'duration_scale', 'seed', 'mock_profile'] as const
  const differ = keys.filter((k) => baseline[k] !== summary.run[k])
  if (differ.length > 0) {
    const show = (x: Record<(typeof keys)[number], unknown>) => differ.map((k) => `${k} ${x[k]}`).join(', ')
    return skip(`not comparable: baseline ${show(baseline)}, this run ${show(summary.run)}`)
  }
  const full: GateRule = { ...DEFAULT_RULE, percentile: summary.tier.latency_target.percentile, ...rule }
  let verdict: ReturnType<typeof compareLatency>
  try {
    verdict = compareLatency(
      baseline.runs.map((r) => r.samples_ms),
      readSamples(runDir).latency_ms,
      full,
      streamFor(summary.run.seed, 'gate'),
    )
  } catch (error) {
    return skip((error as Error).message)
  }
  const regressed = verdict.verdict === 'regressed'
  const failedBefore = summary.status === 'failed'
  const updated: RunSummary = {
    ...summary,
    status: regressed || failedBefore ? 'failed' : summary.status,
    ...(regressed
      ? {
          status_reason: [
            summary.status_reason,
            `${verdict.metric} regressed ${(verdict.change * 100).toFixed(1)} % against ci/baselines/${baseline.tier}.json`,
          ]
            .filter(Boolean)
            .join('; '),
        }
      : {}),
    regression: {
      reference: {
        name: `ci/baselines/${baseline.tier}.json (${baseline.runs.length} run${baseline.runs.length === 1 ? '' : 's'})`,
        run_id: baseline.runs[0].run_id,
        ...(baseline.runs[0].git_commit ? { git_commit: baseline.runs[0].git_commit } : {}),
        created_at: baseline.updated_at,
      },
      method: describeRule(full, baseline.runs.length),
      verdicts: [verdict],
    },
  }
  const valid = parseSummary(updated)
  writeRunFiles(runDir, valid, null)
  return { summary: valid, skippedReason: null }
}
