// Applies the regression rule to finished runs of a tier: compares their latency samples with the
// tier's baseline file, writes each run's `regression` section (and `failed` on a significant
// regression), or when it cannot compare them its `regression_skipped` reason, and re-renders their
// reports from the updated summaries. A tier that took several runs (tiers.yaml ci.runs) is judged
// once, on all of them together.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { changeText } from '../reports/src/format.ts'
import { parseSummary, type RegressionVerdict, type RunSummary } from '../reports/src/summary.ts'
import { readSamples, writeRunFiles } from '../scenarios/run/run-files.ts'
import { loadTiers, TIERS_FILE } from '../scenarios/tiers.ts'
import { type BaselineFile, baselineCounts, machineName, ownTimeOf, proxyEnvText } from './baseline-file.ts'
import { compareErrors, describeErrorRule, ERROR_RULE } from './error-gate.ts'
import { compareRuns, describeRule, type GateRule, ruleFor } from './gate.ts'

export type GateOutcome = {
  summary: RunSummary
  /** Why no regression verdict was given (no baseline, another engine, a broken run, ...). */
  skippedReason: string | null
}

export type GateOptions = {
  readonly rule?: Partial<GateRule>
  /**
   * Compare even when the run used another mock profile than the baseline: an experiment that changes
   * the mocks on purpose (a slower profile shows what the gate catches). The reference names both.
   */
  readonly allowProfileChange?: boolean
  /**
   * A run the gate cannot judge (no baseline for this kind of machine, another setup) is inconclusive
   * rather than passed (load:ci --require-gate). Off by default: CI on a new kind of machine must not
   * go red merely for lacking a baseline; its runs say they were not gated all the same.
   */
  readonly requireGate?: boolean
}

/** What must match for a run to be compared with a baseline (the mock profile last). */
const SETUP_KEYS = ['engine', 'load_model', 'duration_scale', 'seed', 'mock_profile'] as const
type SetupKey = (typeof SETUP_KEYS)[number]

export function readSummary(runDir: string): RunSummary {
  return parseSummary(readFileSync(join(runDir, 'summary.json'), 'utf8'))
}

/** A baseline and its path under ci/baselines (readBaselines), as verdicts cite it. */
export type NamedBaseline = { readonly name: string; readonly baseline: BaselineFile }

/**
 * The runs of a tier (several when it took more than one) against its baseline, judged together:
 * the baseline of the runs' kind of machine among those given (readBaselines), or the one given.
 */
export function gateRuns(
  runDirs: readonly string[],
  baselines: BaselineFile | readonly NamedBaseline[] | null,
  options: GateOptions = {},
): GateOutcome[] {
  const summaries = runDirs.map(readSummary)
  const skipAll = (reason: string) => recordSkippedGate(runDirs, summaries, reason, options)
  const usable = runDirs.flatMap((dir, i) => (summaries[i].status === 'broken' ? [] : [dir]))
  if (usable.length === 0) return skipAll('the run broke')
  const first = summaries[runDirs.indexOf(usable[0])]
  const all: readonly NamedBaseline[] =
    baselines === null
      ? []
      : 'runs' in baselines
        ? [{ name: `${baselines.tier}.json`, baseline: baselines }]
        : baselines
  if (all.length === 0)
    return skipAll(`no baseline (ci/baselines/${first.run.tier}.json): npm run baseline:update`)
  // Absolute latencies belong to a machine: runs of identical code on another CPU model read 40 %
  // slower or faster (medium's p50: 2.2-2.5 ms on the AMD EPYC the baselines were taken on, 3.1-3.7 ms
  // on an Intel Xeon), which the rule would call a regression or hide one behind. Each kind of
  // machine has its own baseline.
  const here = machineName(first.environment)
  const match = all.find((b) => machineName(b.baseline.environment) === here)
  if (!match)
    return skipAll(
      `not comparable: baseline taken on ${all.map((b) => machineName(b.baseline.environment)).join(', ')}, this run on ${here} (npm run baseline:update on this kind of machine adds its own)`,
    )
  const { baseline } = match
  const file = `ci/baselines/${match.name}`
  const keys: readonly SetupKey[] = options.allowProfileChange ? SETUP_KEYS.slice(0, -1) : SETUP_KEYS
  const differ = keys.filter((k) => baseline[k] !== first.run[k])
  if (differ.length > 0) {
    const show = (x: Record<string, unknown>) => differ.map((k) => `${k} ${x[k]}`).join(', ')
    return skipAll(`not comparable: baseline ${show(baseline)}, this run ${show(first.run)}`)
  }
  // The proxy's settings from the environment change its work (REDIS_URL: a shared cache tier on
  // every miss), and so what a run measures: only runs with the same are compared.
  const env = { baseline: proxyEnvText(baseline.proxy_env), run: proxyEnvText(first.run.proxy_env) }
  if (env.baseline !== env.run)
    return skipAll(
      `not comparable: the baseline's proxy took ${env.baseline} from the environment, this run's ${env.run}`,
    )
  const rule = ruleFor(first.tier.latency_target.percentile, options.rule)
  const currentSummaries = usable.map((dir) => summaries[runDirs.indexOf(dir)])
  let verdicts: RegressionVerdict[]
  try {
    verdicts = compareRuns(
      baseline.runs.map((r) => r.samples_ms),
      usable.map((dir) => readSamples(dir).latency_ms),
      rule,
      // And the proxy's own time, which the latency at these rates hides (gate.ts).
      {
        baseline: baseline.runs.map((r) => r.proxy_own_p50_ms ?? null),
        current: currentSummaries.map(ownTimeOf),
      },
    )
    // And the errors, which no latency percentile shows (error-gate.ts).
    const current = currentSummaries.map((s) => s.totals)
    verdicts.push(compareErrors(baseline.runs.map(baselineCounts), current, first.tier.error_rate_max))
  } catch (error) {
    return skipAll((error as Error).message)
  }
  const profileNote =
    (baseline.mock_profile !== first.run.mock_profile
      ? `; mock profile ${first.run.mock_profile} against the baseline's ${baseline.mock_profile}`
      : '') +
    (first.run.proxy_node_flags
      ? `; the proxy started with node ${first.run.proxy_node_flags.join(' ')} (an experiment)`
      : '')
  const regression: NonNullable<RunSummary['regression']> = {
    reference: {
      name: `${file} (${baseline.runs.length} run${baseline.runs.length === 1 ? '' : 's'})${profileNote}`,
      run_id: baseline.runs[0].run_id,
      ...(baseline.runs[0].git_commit ? { git_commit: baseline.runs[0].git_commit } : {}),
      created_at: baseline.updated_at,
    },
    method: `${describeRule(
      rule,
      baseline.runs.length,
      usable.length,
      verdicts.some((v) => v.metric.startsWith('proxy_own_')),
    )}; ${describeErrorRule()}`,
    false_alarm_rate: rule.falseAlarmRate + ERROR_RULE.falseAlarmRate,
    verdicts,
  }
  const regressed = verdicts.filter((v) => v.verdict === 'regressed')
  return runDirs.map((dir, i) => {
    const summary = summaries[i]
    if (summary.status === 'broken') return { summary, skippedReason: 'the run broke' }
    const updated = parseSummary(withRegression(summary, regression, regressed, file))
    writeRunFiles(dir, updated, null)
    return { summary: updated, skippedReason: null }
  })
}

/**
 * Runs the gate could not judge, with the reason written into their summaries and reports (a pass no
 * gate judged must not read as a gated one); with `requireGate` a run that would have passed is
 * inconclusive. A broken run is left as it is: it says why it broke.
 */
export function skipGate(
  runDirs: readonly string[],
  reason: string,
  options: GateOptions = {},
): GateOutcome[] {
  return recordSkippedGate(runDirs, runDirs.map(readSummary), reason, options)
}

function recordSkippedGate(
  runDirs: readonly string[],
  summaries: readonly RunSummary[],
  reason: string,
  options: GateOptions,
): GateOutcome[] {
  return runDirs.map((dir, i) => {
    const summary = summaries[i]
    if (summary.status === 'broken') return { summary, skippedReason: reason }
    const updated = parseSummary(withSkippedGate(summary, reason, options.requireGate === true))
    writeRunFiles(dir, updated, null)
    return { summary: updated, skippedReason: reason }
  })
}

/** The rule's settings a tier asks for in tiers.yaml (`ci.noise_floor`), for gateRuns' `rule`. */
export function tierRule(tier: string, tiersFile = TIERS_FILE): Partial<GateRule> {
  const noiseFloor = loadTiers(tiersFile).tiers.get(tier)?.ciNoiseFloor
  return noiseFloor === undefined ? {} : { noiseFloor }
}

/** One run against its baseline (a tier that took one run). */
export function gateRun(
  runDir: string,
  baseline: BaselineFile | readonly NamedBaseline[] | null,
  options: GateOptions = {},
): GateOutcome {
  return gateRuns([runDir], baseline, options)[0]
}

/**
 * The summary with its regression section. A regression fails the run, unless the run is
 * inconclusive: a generator that may have been the limit can blame nobody.
 */
function withRegression(
  summary: RunSummary,
  regression: NonNullable<RunSummary['regression']>,
  regressed: readonly RegressionVerdict[],
  file: string,
): RunSummary {
  const blame = regressed.length > 0 && summary.status !== 'inconclusive'
  const reason = regressed
    .map((v) => `${v.metric} regressed ${changeText(v.change, v.change_unit)} against ${file}`)
    .join('; ')
  // A run gated again (another baseline, another rule) keeps only the latest gate's word.
  const { regression_skipped: _, ...ungated } = summary
  return {
    ...ungated,
    status: blame ? 'failed' : summary.status,
    ...(reason ? { status_reason: [summary.status_reason, reason].filter(Boolean).join('; ') } : {}),
    regression,
  }
}

/**
 * The summary with the reason the gate gave no verdict. A required gate that did not run leaves a run
 * that would have passed inconclusive: nothing said whether it regressed. A failed or inconclusive run
 * keeps its status, whose reason says more.
 */
function withSkippedGate(summary: RunSummary, reason: string, required: boolean): RunSummary {
  const inconclusive = required && summary.status === 'passed'
  const note = `not gated against a baseline (${reason}), and --require-gate asks for it`
  const { regression: _, ...ungated } = summary
  return {
    ...ungated,
    status: inconclusive ? 'inconclusive' : summary.status,
    ...(inconclusive ? { status_reason: [summary.status_reason, note].filter(Boolean).join('; ') } : {}),
    regression_skipped: { reason, required },
  }
}
