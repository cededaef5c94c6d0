// `npm run capacity` end to end: for each worker count, boot the mocks (realistic profile) and the
// proxy with that many workers (or use --target), sweep it (sweep.ts), stop everything it started;
// then the held-out check on the first worker count, the USL over workers, the sizing, and the
// files: summary.json (validated, versioned) and report.html in reports/out/<run-id>/.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { parse as parseYaml, stringify } from 'yaml'
import { loadProfile } from '../../mock-providers/src/index.ts'
import { renderCapacityReport } from '../../reports/src/capacity-render.ts'
import type { CapacitySummary, StepPoint, Sweep, Truth } from '../../reports/src/capacity-summary.ts'
import { parseCapacitySummary } from '../../reports/src/capacity-summary.ts'
import { collectEnvironment } from '../run/environment.ts'
import { waitForHealth } from '../run/probe.ts'
import { ProcessGroup } from '../run/processes.ts'
import { REPORTS_OUT, stamp } from '../run/runner.ts'
import { bootStack, PROXY_CONFIG, REPO_ROOT } from '../run/stack.ts'
import type { CapacityConfig } from './config.ts'
import type { Processes } from './monitor.ts'
import { openFilesLimit } from './proc.ts'
import { planSizing } from './sizing.ts'
import { runSweep, type SweepOptions } from './sweep.ts'
import { checkTruth, type Forecast } from './truth.ts'
import { fitUsl, uslSummary } from './usl.ts'

export const CAPACITY_EXIT = { completed: 0, broken: 1, interrupted: 130 } as const

export type CapacityOptions = {
  readonly config: CapacityConfig
  /** Scales warm-up, window and drain (--quick uses 0.3). */
  readonly timeScale: number
  readonly target?: string
  readonly apiKey?: string | null
  readonly seed: number
  readonly out?: string
  readonly proxyConfig?: string
  readonly command: string
  readonly signal?: AbortSignal
  /** One line per step; null prints nothing. */
  readonly log?: ((line: string) => void) | null
  readonly now?: () => Date
  readonly step?: SweepOptions['step']
}

export type CapacityOutcome = {
  readonly summary: CapacitySummary
  readonly dir: string
  readonly exitCode: number
  readonly processes: readonly { name: string; pid: number }[]
}

export async function runCapacity(options: CapacityOptions): Promise<CapacityOutcome> {
  const now = options.now ?? (() => new Date())
  const { config } = options
  const startedAt = now()
  const runId = `${stamp(startedAt)}-capacity-${randomBytes(2).toString('hex')}`
  const dir = options.out ?? join(REPORTS_OUT, runId)
  mkdirSync(dir, { recursive: true })
  const log = options.log === undefined ? (line: string) => process.stderr.write(`${line}\n`) : options.log
  const started: { name: string; pid: number }[] = []
  const sweeps: Sweep[] = []
  let prediction: Forecast | null = null
  let broken: string | null = null
  const workerCounts = options.target ? [await targetWorkers(options.target)] : config.workers
  const s = config.sweep
  for (const [index, workers] of workerCounts.entries()) {
    const group = new ProcessGroup()
    let cleanup = () => {}
    try {
      let targetUrl = options.target?.replace(/\/$/, '') ?? ''
      let apiKey = options.apiKey ?? null
      let processes: Processes | undefined
      let fdLimit: number | null = null
      if (!options.target) {
        const runDir = join(dir, `workers-${workers}`)
        mkdirSync(runDir, { recursive: true })
        const stack = await bootStack({
          group,
          runDir,
          mockProfile: config.mock_profile,
          seed: options.seed,
          proxyConfig: writeProxyConfig(runDir, options.proxyConfig ?? PROXY_CONFIG, workers, config.cache),
        })
        cleanup = stack.cleanup
        started.push(
          ...stack.processes.map((p) => ({
            name: `${p.name} (${workers} worker${workers > 1 ? 's' : ''})`,
            pid: p.pid,
          })),
        )
        targetUrl = stack.targetUrl
        apiKey = stack.apiKey
        const [mock, proxy] = stack.processes
        const port = (url: string) => Number(new URL(url).port)
        processes = {
          proxy: proxy.pid,
          mock: mock.pid,
          ports: {
            listen: port(targetUrl),
            upstream: [port(stack.mocks.openai), port(stack.mocks.anthropic)],
          },
        }
        fdLimit = openFilesLimit(proxy.pid)
      }
      await waitForHealth(targetUrl, 30_000, options.signal)
      log?.(`capacity: ${workers} worker${workers > 1 ? 's' : ''}, ${targetUrl}`)
      const first = index === 0
      const scale = options.timeScale
      const outcome = await runSweep({
        targetUrl,
        apiKey,
        mix: config.scenarios,
        corpus: config.corpus,
        seed: options.seed,
        warmupS: s.warmup * scale,
        windowS: s.window * scale,
        drainS: Math.max(2, s.drain * scale),
        maxInFlight: Math.max(2 * s.max_users, 1000),
        requestTimeoutS: s.request_timeout,
        processes,
        signal: options.signal,
        onSpawn: (pid) => started.push({ name: 'load engine', pid }),
        workers,
        slo: sloOf(config),
        rates: first ? s.rates : s.other_workers.rates,
        refine: first ? s.refine : s.other_workers.refine,
        maxUsers: s.max_users,
        fitShare: s.fit_share,
        check: first,
        memoryMb: config.sizing.instance_memory_mb,
        cpuCount: availableParallelism(),
        fdLimit,
        onStep: (point, label) => log?.(`  ${workers}w ${label.padEnd(28)} ${describe(point)}`),
        step: options.step,
      })
      sweeps.push(outcome.sweep)
      prediction ??= outcome.forecast
    } catch (error) {
      broken = options.signal?.aborted ? 'interrupted (SIGINT)' : `run broken: ${(error as Error).message}`
    } finally {
      await group.stopAll()
      cleanup()
    }
    if (broken) break
  }
  const endedAt = now()
  const summary = parseCapacitySummary(
    buildCapacitySummary({ options, runId, startedAt, endedAt, sweeps, prediction, broken }),
  )
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`)
  writeFileSync(join(dir, 'report.html'), renderCapacityReport(summary))
  const exitCode = !broken
    ? CAPACITY_EXIT.completed
    : options.signal?.aborted
      ? CAPACITY_EXIT.interrupted
      : CAPACITY_EXIT.broken
  return { summary, dir, exitCode, processes: started }
}

function sloOf(config: CapacityConfig): CapacitySummary['slo'] {
  const slo = config.slo
  return {
    ttft_p95_ms: slo.ttft_p95,
    itl_p95_ms: slo.itl_p95,
    latency_p95_ms: slo.latency_p95,
    error_rate_max: slo.error_rate_max,
    source: config.sloSource,
  }
}

type BuildInput = {
  options: CapacityOptions
  runId: string
  startedAt: Date
  endedAt: Date
  sweeps: readonly Sweep[]
  prediction: Forecast | null
  broken: string | null
}

export function buildCapacitySummary(input: BuildInput): CapacitySummary {
  const { options, sweeps } = input
  const { config } = options
  const byWorkers = sweeps.map((s) => ({ workers: s.workers, x: s.max_throughput_rps }))
  const truth: Truth | null =
    input.prediction && sweeps[0] ? checkTruth(input.prediction, sweeps[0], availableParallelism()) : null
  const responseMs = sweeps[0]?.demands?.latency_mean_ms ?? null
  const profile = options.target ? null : safeProfile(config.mock_profile)
  return {
    schema_version: 1,
    kind: 'capacity',
    status: input.broken ? 'broken' : 'completed',
    ...(input.broken ? { status_reason: input.broken } : {}),
    run: {
      id: input.runId,
      started_at: input.startedAt.toISOString(),
      ended_at: input.endedAt.toISOString(),
      duration_s: Math.round((input.endedAt.getTime() - input.startedAt.getTime()) / 100) / 10,
      command: options.command,
      target_url: options.target ?? 'booted per worker count',
      mock_profile: options.target ? null : config.mock_profile,
      seed: options.seed,
      time_scale: options.timeScale,
    },
    environment: collectEnvironment(REPO_ROOT),
    workload: {
      description: profile?.description ?? 'the target as it is (--target): its providers set the latency',
      scenarios: config.scenarios.map((s) => ({ ...s })),
      profile: profile
        ? { latency: profile.latency, completion: profile.completion, concurrency: profile.concurrency }
        : null,
      cache: options.target ? null : config.cache,
      warmup_s: config.sweep.warmup * options.timeScale,
      window_s: config.sweep.window * options.timeScale,
    },
    slo: sloOf(config),
    sweeps: [...sweeps],
    usl_workers:
      byWorkers.length > 0
        ? {
            fit: uslSummary(fitUsl(byWorkers.map((w) => ({ n: w.workers, x: w.x }))), 'workers'),
            points: byWorkers,
          }
        : null,
    truth,
    sizing:
      sweeps.length > 0 && responseMs !== null
        ? planSizing({
            headroom: config.sizing.headroom,
            thinkTimeS: config.sizing.think_time,
            responseTimeS: responseMs / 1000,
            users: config.sizing.users,
            rates: config.sizing.rates,
            memoryMb: config.sizing.instance_memory_mb,
            sweeps: sweeps.map((s) => ({ workers: s.workers, demands: s.demands, knee: s.knee })),
          })
        : null,
    notes: runNotes(sweeps, config, options.target !== undefined),
  }
}

function runNotes(sweeps: readonly Sweep[], config: CapacityConfig, target: boolean): string[] {
  const notes: string[] = []
  if (target)
    notes.push('--target: the proxy ran with its own configuration (its cache and pool limits as they are).')
  else if (!config.cache)
    notes.push('The proxy ran with its response cache off: real chat prompts rarely repeat word for word.')
  const busy = sweeps
    .flatMap((s) => s.points)
    .filter((p) => (p.resources.machine_busy_percent ?? 0) >= 95 * availableParallelism())
  if (busy.length > 0)
    notes.push(
      `The machine's CPU was saturated (other processes included) during ${busy.length} step(s): figures from a shared machine are noisy.`,
    )
  if (sweeps.some((s) => s.points.some((p) => p.generator.limited)))
    notes.push(
      'The load generator was the limit in some steps: they are inconclusive and left out of the knee.',
    )
  return notes
}

function describe(p: StepPoint): string {
  const f = (v: number | null | undefined, unit = '') =>
    v === null || v === undefined ? '-' : `${Math.round(v * 10) / 10}${unit}`
  const pool = p.resources.upstream_limit
    ? `${f(p.resources.upstream_in_use)}/${p.resources.upstream_limit} conns`
    : ''
  return [
    `${f(p.achieved_rps)} req/s`,
    `TTFT p95 ${f(p.ttft_ms?.p95, ' ms')}`,
    `ITL p95 ${f(p.itl_ms?.p95, ' ms')}`,
    `in flight ${f(p.concurrency.mean)}`,
    pool,
    `CPU ${f(p.resources.proxy_cpu_percent, ' %')}`,
    `-> ${p.verdict}${p.reasons.length ? ` (${p.reasons.join('; ')})` : ''}`,
  ]
    .filter(Boolean)
    .join('  ')
}

/** proxy/config.yaml with the worker count and the cache setting of this sweep (no secrets: the stack adds the key). */
function writeProxyConfig(runDir: string, base: string, workers: number, cache: boolean): string {
  const config = (parseYaml(readFileSync(base, 'utf8')) ?? {}) as Record<string, Record<string, unknown>>
  config.server = { ...config.server, workers }
  config.caching = { ...config.caching, enabled: cache }
  const file = join(runDir, 'proxy-config.yaml')
  writeFileSync(file, stringify(config))
  return file
}

async function targetWorkers(target: string): Promise<number> {
  try {
    const res = await request(`${target.replace(/\/$/, '')}/metrics`, {
      headersTimeout: 5000,
      bodyTimeout: 5000,
    })
    if (res.statusCode !== 200) {
      await res.body.dump()
      return 1
    }
    const body = (await res.body.json()) as { process?: { workers?: unknown } }
    return typeof body.process?.workers === 'number' && body.process.workers > 0 ? body.process.workers : 1
  } catch {
    return 1
  }
}

function safeProfile(name: string) {
  try {
    return loadProfile(name)
  } catch {
    return null
  }
}
