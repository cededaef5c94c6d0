// Runs one tier end to end: boot mocks + proxy (unless --target), wait for health, probe optional
// endpoints, drive the engine in its own process while sampling /metrics and drawing progress, then
// stop everything it started (whatever happened), write summary.json (validated), report.html and
// the engine's raw output, and return the exit code: 0 passed, 99 a baseline failed, 3 inconclusive
// (the generator may have been the limit), 1 broken, 130 interrupted.
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { parseSummary, type RunSummary } from '../../reports/src/summary.ts'
import { runEngine } from '../engines/engine-process.ts'
import type { EngineName, EnginePlan, EngineResult } from '../engines/plan.ts'
import { type ExecutionSegment, isWhole } from '../engines/segment.ts'
import { effectiveMix } from '../mixed.ts'
import type { ScenarioName } from '../scenario.ts'
import { getTier, loadTiers, scaleTier, TIERS_FILE } from '../tiers.ts'
import { collectEnvironment } from './environment.ts'
import { readCapacity } from './generator-capacity.ts'
import { mockLatencyOf } from './mock-latency.ts'
import { probeScenarios, waitForHealth } from './probe.ts'
import { ProcessGroup } from './processes.ts'
import { createProgress } from './progress.ts'
import { startMetricsSampler } from './proxy-metrics.ts'
import { writeRunFiles } from './run-files.ts'
import { bootStack, REPO_ROOT, type Stack } from './stack.ts'
import { buildSummary } from './summary-build.ts'

export const REPORTS_OUT = join(REPO_ROOT, 'reports/out')
/**
 * Exit codes. 3 (inconclusive: the generator may have been the limit, so the run neither passed nor
 * failed the target) follows the monitoring-plugin convention, where 3 is UNKNOWN; it is none of 0,
 * 99 (k6's failed thresholds), 1 (broken), 2 (bad arguments) and 130 (interrupted).
 */
export const EXIT = { passed: 0, failed: 99, inconclusive: 3, broken: 1, interrupted: 130 } as const

/** The exit code of a summary's status (a broken run that was interrupted exits 130). */
export function exitCodeOf(status: RunSummary['status'], interrupted = false): number {
  if (status === 'broken') return interrupted ? EXIT.interrupted : EXIT.broken
  return EXIT[status]
}

/** The exit code of several runs: interrupted, else the worst of broken, failed, inconclusive, passed. */
export function exitCodeOfAll(statuses: readonly RunSummary['status'][], interrupted = false): number {
  if (interrupted) return EXIT.interrupted
  for (const status of ['broken', 'failed', 'inconclusive'] as const)
    if (statuses.includes(status)) return EXIT[status]
  return EXIT.passed
}

export type RunOptions = {
  readonly tier: string
  readonly engine?: EngineName
  readonly durationScale?: number
  /**
   * Load an existing proxy instead of booting mocks + proxy; several: request k of the schedule goes
   * to target k mod n (native engine).
   */
  readonly target?: string | readonly string[]
  /** Run one execution segment of the schedule (native engine): one shard of a split run. */
  readonly segment?: ExecutionSegment
  /** Start the schedule at this wall-clock time (every shard of a split run the same). */
  readonly startAt?: Date
  readonly apiKey?: string | null
  readonly mockProfile?: string
  readonly seed?: number
  /** The run directory (default reports/out/<run-id>). */
  readonly out?: string
  readonly loadModel?: 'open' | 'closed'
  readonly arrival?: 'poisson' | 'constant'
  readonly tiersFile?: string
  readonly proxyConfig?: string
  /** Node options for the proxy the run boots, after its own (an experiment). */
  readonly proxyNodeFlags?: readonly string[]
  readonly command?: string
  readonly signal?: AbortSignal
  /** Progress output (default: process.stderr); null draws nothing. */
  readonly progress?: (NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) | null
  readonly now?: () => Date
  /** Told the PIDs of the mocks and the proxy once they are up (tests use it to kill one). */
  readonly onStackReady?: (processes: readonly { name: string; pid: number }[]) => void
}

export type RunOutcome = {
  summary: RunSummary
  dir: string
  exitCode: number
  /** The processes the run started (all stopped by now). */
  processes: readonly { name: string; pid: number }[]
}

export async function runTier(options: RunOptions): Promise<RunOutcome> {
  const now = options.now ?? (() => new Date())
  const catalog = loadTiers(options.tiersFile ?? TIERS_FILE)
  const scale = options.durationScale ?? 1
  const base = scaleTier(getTier(catalog, options.tier), scale)
  const tier = { ...base, arrival: options.arrival ?? base.arrival }
  const engine = options.engine ?? 'native'
  const loadModel = engine === 'autocannon' ? 'closed' : (options.loadModel ?? tier.loadModel)
  const seed = options.seed ?? 42
  const startedAt = now()
  const runId = `${stamp(startedAt)}-${tier.name}-${engine}-${randomBytes(2).toString('hex')}`
  const dir = options.out ?? join(REPORTS_OUT, runId)
  mkdirSync(dir, { recursive: true })

  const group = new ProcessGroup()
  const engineProcesses: { name: string; pid: number }[] = []
  let stack: Stack | null = null
  const targets = (typeof options.target === 'string' ? [options.target] : [...(options.target ?? [])]).map(
    (t) => t.replace(/\/$/, ''),
  )
  if (engine === 'autocannon' && (targets.length > 1 || !isWhole(options.segment)))
    throw new Error('several targets and execution segments need the native engine')
  let targetUrl = targets[0] ?? 'http://127.0.0.1'
  let result: EngineResult | null = null
  let broken: string | null = null
  let skipped = new Map<ScenarioName, string>()
  let mix = [...tier.scenarios]
  let proxyMetrics: RunSummary['proxy_metrics']
  const progressOut = options.progress === undefined ? process.stderr : options.progress
  try {
    let apiKey = options.apiKey ?? null
    if (targets.length === 0) {
      stack = await bootStack({
        group,
        runDir: dir,
        mockProfile: options.mockProfile ?? 'baseline',
        seed,
        proxyConfig: options.proxyConfig,
        proxyNodeFlags: options.proxyNodeFlags,
      })
      targetUrl = stack.targetUrl
      apiKey = stack.apiKey
      options.onStackReady?.(stack.processes.map((p) => ({ name: p.name, pid: p.pid })))
    }
    for (const target of targets.length > 0 ? targets : [targetUrl])
      await waitForHealth(target, 20_000, options.signal)
    skipped = await probeScenarios(targetUrl, apiKey, tier.scenarios)
    mix = effectiveMix(tier.scenarios, skipped)
    const plan: EnginePlan = {
      engine,
      targetUrl,
      ...(targets.length > 1 ? { targets } : {}),
      ...(options.segment ? { segment: options.segment } : {}),
      ...(options.startAt ? { startAt: options.startAt.getTime() } : {}),
      apiKey,
      loadModel,
      arrival: tier.arrival,
      users: tier.users,
      rps: tier.expectedRps,
      durationS: tier.durationS,
      rampUpS: tier.rampUpS,
      thinkTimeS: tier.thinkTimeS,
      mix,
      corpus: catalog.corpus,
      seed,
      requestTimeoutS: tier.requestTimeoutS,
      drainS: tier.drainS,
      bucketS: 1,
      latencyPercentile: tier.latency.percentile,
      samplesPerBucket: 500,
    }
    const engineStart = options.startAt?.getTime() ?? Date.now()
    const sampler = startMetricsSampler({
      targetUrl,
      apiKey,
      elapsedS: () => Math.max(0, Date.now() - engineStart) / 1000,
    })
    const progress = progressOut
      ? createProgress({
          out: progressOut,
          label: `${tier.name} ${engine} ${loadModel}`,
          totalS: tier.durationS,
        })
      : null
    // A mock or proxy that dies mid-run makes the rest of the run meaningless: stop the engine at once.
    const stackDied = new AbortController()
    const unexpectedExit = watchUnexpectedExits(stack, () => stackDied.abort())
    try {
      result = await runEngine(plan, {
        onTick: (tick) => progress?.update(tick),
        signal: options.signal ? AbortSignal.any([options.signal, stackDied.signal]) : stackDied.signal,
        onSpawn: (pid) => engineProcesses.push({ name: `${engine} engine`, pid }),
      })
    } finally {
      progress?.done()
      proxyMetrics = await sampler.stop()
    }
    broken = options.signal?.aborted ? 'interrupted (SIGINT) before the end of the run' : unexpectedExit()
  } catch (error) {
    broken = options.signal?.aborted ? 'interrupted (SIGINT)' : `run broken: ${(error as Error).message}`
  } finally {
    await group.stopAll()
    stack?.cleanup()
  }
  const endedAt = now()
  const mockProfile = targets.length > 0 ? null : (options.mockProfile ?? 'baseline')
  const mockLatency = mockProfile ? mockLatencyOf(mockProfile) : null
  const summary = parseSummary(
    buildSummary({
      runId,
      tier,
      durationScale: scale,
      engine,
      loadModel,
      seed,
      targetUrl,
      mockProfile,
      proxyNodeFlags: targets.length > 0 ? undefined : options.proxyNodeFlags,
      proxyEnv: stack?.proxyEnv,
      ...(mockLatency ? { mockLatency } : {}),
      command: options.command ?? `node scenarios/cli.ts ${tier.name} --engine ${engine}`,
      startedAt,
      endedAt,
      environment: collectEnvironment(REPO_ROOT),
      sharedHost: targets.length === 0 || /^https?:\/\/(127\.|localhost|\[::1\])/.test(targetUrl),
      targets,
      ...(options.segment && !isWhole(options.segment)
        ? { segment: { segment: options.segment, startAt: options.startAt } }
        : {}),
      result,
      mix,
      skipped,
      proxyMetrics,
      broken,
      capacity: readCapacity(),
    }),
  )
  writeRunFiles(dir, summary, result)
  // A shard's own verdict is advisory (the merged run is judged): it fails only when it broke, so that
  // a scheduler (an Indexed Job) runs the merge whatever the shards measured.
  const shard = !isWhole(options.segment) && summary.status !== 'broken'
  const exitCode = shard ? EXIT.passed : exitCodeOf(summary.status, options.signal?.aborted)
  return { summary, dir, exitCode, processes: [...group.started, ...engineProcesses] }
}

/** Returns a function telling whether a process of the stack died on its own during the run. */
function watchUnexpectedExits(stack: Stack | null, onExit: () => void): () => string | null {
  let reason: string | null = null
  for (const p of stack?.processes ?? []) {
    void p.exited.then((exit) => {
      if (!p.stopping && reason === null) {
        reason = `${p.name} (pid ${p.pid}) exited during the run (${exit.signal ?? `code ${exit.code}`}); see its log`
        onExit()
      }
    })
  }
  return () => reason
}

/** A run id's time part: 20261130-133742 (UTC). */
export function stamp(date: Date): string {
  const iso = date.toISOString()
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`
}
