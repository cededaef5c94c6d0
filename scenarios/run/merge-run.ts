// Shard run directories -> one run directory: the merged engine result (merge.ts) made into a summary
// by the same code as a single run's (summary-build.ts: the tier's seed baselines, the status), with
// the same files beside it (run-files.ts), histograms.json included, so a merged run merges again.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseSummary, type RunSummary, SummaryError } from '../../reports/src/summary.ts'
import type { EngineResult } from '../engines/plan.ts'
import { effectiveMix } from '../mixed.ts'
import type { ScenarioName } from '../scenario.ts'
import { getTier, loadTiers, scaleTier, TIERS_FILE, type Tier } from '../tiers.ts'
import {
  MergeError,
  mergedGenerator,
  mergeNotes,
  mergeResults,
  orderShards,
  readShard,
  type ShardRun,
  shardResults,
} from './merge.ts'
import type { MockLatency } from './mock-latency.ts'
import { writeRunFiles } from './run-files.ts'
import { REPORTS_OUT, stamp } from './runner.ts'
import { buildSummary } from './summary-build.ts'

export type MergeOptions = {
  /** The merged run's directory (default reports/out/<run-id>). */
  readonly out?: string
  /** The tiers the shards ran (default tiers.yaml): the baselines come from it. */
  readonly tiersFile?: string
  readonly command: string
  /** What the shards could not know: the mocks the run booted for them (`--shards`). */
  readonly mockProfile?: string
  readonly mockLatency?: MockLatency
  /** Why the split run broke beyond its shards (the proxy they loaded died), when it did. */
  readonly broken?: string
}

export type MergedRun = { readonly summary: RunSummary; readonly dir: string; readonly result: EngineResult }

export function readShards(dirs: readonly string[]): ShardRun[] {
  return dirs.map((dir) => {
    const file = join(dir, 'summary.json')
    if (!existsSync(file))
      throw new MergeError(`${dir}: no summary.json (a shard that never finished writes none)`, 1)
    try {
      return readShard(dir, parseSummary(readFileSync(file, 'utf8')))
    } catch (error) {
      if (error instanceof SummaryError) throw new MergeError(`${file}: ${error.message}`, 2)
      throw error
    }
  })
}

/** The tier as the shards ran it, from the tiers file, checked against what they recorded. */
function tierOf(shards: readonly ShardRun[], tiersFile: string): Tier {
  const { run, tier: recorded } = shards[0].summary
  const base = scaleTier(getTier(loadTiers(tiersFile), run.tier), run.duration_scale)
  const tier = { ...base, arrival: run.arrival ?? base.arrival }
  const mismatch = (
    [
      ['users', tier.users, recorded.users],
      ['expected_rps', tier.expectedRps, recorded.expected_rps],
      ['duration_s', Math.round(tier.durationS * 100) / 100, recorded.duration_s],
      ['latency_target.max_ms', tier.latency.maxMs, recorded.latency_target.max_ms],
      ['error_rate_max', tier.errorRateMax, recorded.error_rate_max],
    ] as const
  ).filter(([, a, b]) => a !== b)
  if (mismatch.length > 0)
    throw new MergeError(
      `${tiersFile} defines tier ${run.tier} otherwise than the shards ran it (${mismatch.map(([k, a, b]) => `${k} ${a}, they ran ${b}`).join('; ')}): merge with their tiers file (--tiers)`,
      2,
    )
  return tier
}

export function mergeRunDirs(dirs: readonly string[], options: MergeOptions): MergedRun {
  const shards = orderShards(readShards(dirs))
  const tier = tierOf(shards, options.tiersFile ?? TIERS_FILE)
  const first = shards[0].summary
  const result = mergeResults(shards)
  const startedAt = new Date(result.startedAt)
  const runId = `${stamp(startedAt)}-${tier.name}-native-merged${shards.length}-${randomBytes(2).toString('hex')}`
  const dir = options.out ?? join(REPORTS_OUT, runId)
  mkdirSync(dir, { recursive: true })
  const skipped = new Map<ScenarioName, string>()
  for (const s of shards)
    for (const scenario of s.summary.scenarios)
      if (scenario.skipped) skipped.set(scenario.name as ScenarioName, scenario.skipped.reason)
  const broken = [
    ...(options.broken ? [options.broken] : []),
    ...shards
      .filter((s) => s.summary.status === 'broken')
      .map(
        (s) =>
          `shard ${s.summary.run.segment?.segment ?? '0:1'} broke: ${s.summary.status_reason ?? 'see its summary'}`,
      ),
  ]
  const mockProfile = options.mockProfile ?? first.run.mock_profile
  const mockLatency = options.mockLatency ?? first.run.mock_latency
  const summary = parseSummary(
    buildSummary({
      runId,
      tier,
      durationScale: first.run.duration_scale,
      engine: 'native',
      loadModel: first.run.load_model,
      seed: first.run.seed,
      targetUrl: first.run.target_url,
      mockProfile,
      ...(mockLatency ? { mockLatency } : {}),
      command: options.command,
      startedAt,
      endedAt: new Date(result.endedAt),
      environment: withoutNotes(first.environment),
      sharedHost: /^https?:\/\/(127\.|localhost|\[::1\])/.test(first.run.target_url),
      result,
      mix: effectiveMix(tier.scenarios, skipped),
      skipped,
      ...(shards.find((s) => s.summary.proxy_metrics)?.summary.proxy_metrics
        ? { proxyMetrics: shards.find((s) => s.summary.proxy_metrics)?.summary.proxy_metrics }
        : {}),
      broken: broken.length > 0 ? broken.join('; ') : null,
      capacity: null,
      targets: first.run.targets ?? [first.run.target_url],
      merged: {
        generator: mergedGenerator(shards, result),
        notes: mergeNotes(shards, result),
        shards: shardResults(shards),
      },
    }),
  )
  writeRunFiles(dir, summary, result)
  return { summary, dir, result }
}

function withoutNotes(
  environment: RunSummary['environment'],
): Omit<RunSummary['environment'], 'generator_notes'> {
  const { generator_notes: _notes, ...rest } = environment
  return rest
}
