// Runs one chaos scenario end to end: boots its stack, sends the load while the timeline turns each
// phase's faults on and off and the observer reads the proxy's own endpoints, stops everything it
// started whatever happened, judges every phase and writes summary.json (validated), report.html and
// the raw evidence. Exit code: 0 every assertion held, 99 one failed, 1 the run broke, 130 interrupted.
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { renderChaosReport } from '../../reports/src/chaos-render.ts'
import { type ChaosSummary, parseChaosSummary } from '../../reports/src/chaos-summary.ts'
import { collectEnvironment } from '../run/environment.ts'
import { waitForHealth } from '../run/probe.ts'
import type { ManagedProcess } from '../run/processes.ts'
import { ProcessGroup } from '../run/processes.ts'
import { exitCodeOf, REPORTS_OUT } from '../run/runner.ts'
import { REPO_ROOT } from '../run/stack.ts'
import { chargeRequests, type Evidence } from './evidence.ts'
import { FaultDriver } from './faults.ts'
import { judgePhases } from './judge.ts'
import { type LoadResult, runLoad } from './load.ts'
import { type Observations, startObserver } from './observe.ts'
import { createChaosProgress } from './progress.ts'
import { type ChaosScenario, ChaosScenarioError } from './scenario.ts'
import { bootChaosStack, type ChaosStack } from './stack.ts'
import { buildChaosSummary } from './summary.ts'

export type ChaosRunOptions = {
  readonly scenario: ChaosScenario
  readonly seed?: number
  readonly out?: string
  readonly command?: string
  readonly signal?: AbortSignal
  /** Progress lines (default stderr); null prints nothing. */
  readonly progress?: NodeJS.WritableStream | null
  /** Another checkout's proxy/ directory to put under chaos (its src/server.ts and config.yaml). */
  readonly proxyDir?: string
  /** Told the processes of the stack once it is up (tests kill one). */
  readonly onStackReady?: (stack: ChaosStack) => void
}

export type ChaosOutcome = {
  readonly summary: ChaosSummary
  readonly dir: string
  readonly exitCode: number
  readonly processes: readonly { name: string; pid: number }[]
}

export async function runChaos(options: ChaosRunOptions): Promise<ChaosOutcome> {
  const { scenario } = options
  const seed = options.seed ?? 42
  const startedAt = new Date()
  const runId = `${stamp(startedAt)}-chaos-${scenario.name}-${randomBytes(2).toString('hex')}`
  const dir = options.out ?? join(REPORTS_OUT, runId)
  mkdirSync(dir, { recursive: true })
  const group = new ProcessGroup()
  const stop = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
  let stack: ChaosStack | null = null
  let faults: FaultDriver | null = null
  let load: LoadResult | null = null
  let observations: Observations = { metrics: [], health: [], proc: [], mocks: [] }
  let broken: string | null = null
  let invalid: ChaosScenarioError | null = null
  let t0 = performance.now()
  const now = () => performance.now() - t0
  try {
    stack = await bootChaosStack({ group, runDir: dir, scenario, seed, proxyDir: options.proxyDir })
    await waitForHealth(stack.targetUrl, 20_000, signal)
    options.onStackReady?.(stack)
    faults = new FaultDriver(stack, now, [scenario.load.model].flat()[0])
    await faults.prepare()
    const died = watchUnexpectedExits(stack, (reason) => {
      broken ??= reason
      stop.abort()
    })
    t0 = performance.now()
    const observer = startObserver({ stack, now })
    const progress = createChaosProgress(
      options.progress === undefined ? process.stderr : options.progress,
      scenario,
      now,
      observer.data,
    )
    try {
      const timeline = runTimeline(scenario, faults, now, signal)
      load = await runLoad({
        targetUrl: stack.targetUrl,
        apiKey: stack.apiKey,
        scenario,
        seed,
        now,
        signal,
        onRecord: progress.record,
      })
      await timeline
      await faults.settle()
    } finally {
      progress.done()
      observations = await observer.stop()
      died.stop()
    }
    if (faults.failures.length > 0) broken ??= `a fault could not be applied: ${faults.failures.join('; ')}`
    if (options.signal?.aborted) broken ??= 'interrupted (SIGINT) before the end of the run'
  } catch (error) {
    if (error instanceof ChaosScenarioError) invalid = error
    broken ??= options.signal?.aborted ? 'interrupted (SIGINT)' : `run broken: ${(error as Error).message}`
  } finally {
    await faults?.settle()
    await group.stopAll()
    await stack?.close()
  }
  if (invalid) throw invalid
  const endedAt = new Date()
  const evidence: Evidence = {
    scenario,
    records: chargeRequests(load?.records ?? [], scenario),
    drains: faults?.drains ?? [],
    kills: faults?.kills ?? [],
    events: faults?.events ?? [],
    ...observations,
  }
  if (!broken && evidence.records.length === 0) broken = 'no request was sent'
  const summary = parseChaosSummary(
    buildChaosSummary({
      runId,
      evidence,
      phases: judgePhases(evidence),
      seed,
      command: options.command ?? `npm run chaos -- ${scenario.name}`,
      targetUrl: stack?.targetUrl ?? 'http://127.0.0.1',
      startedAt,
      endedAt,
      durationS: (endedAt.getTime() - startedAt.getTime()) / 1000,
      environment: collectEnvironment(REPO_ROOT),
      proxyOverrides: stack?.proxyOverrides ?? {},
      sendLagMs: load?.sendLagMs ?? { p50: 0, p99: 0, max: 0 },
      broken,
    }),
  )
  writeChaosFiles(dir, summary, evidence)
  const exitCode = exitCodeOf(summary.status, options.signal?.aborted === true)
  return { summary, dir, exitCode, processes: group.started }
}

/** At each phase's start its faults go on, at its end off (the next phase's go on right after). */
async function runTimeline(
  scenario: ChaosScenario,
  faults: FaultDriver,
  now: () => number,
  signal: AbortSignal,
) {
  for (const phase of scenario.phases) {
    await sleepUntil(phase.start * 1000, now, signal)
    if (signal.aborted) return
    await faults.begin(phase)
    await sleepUntil(phase.end * 1000, now, signal)
    await faults.end(phase)
    if (signal.aborted) return
  }
}

function sleepUntil(atMs: number, now: () => number, signal: AbortSignal): Promise<void> {
  const wait = atMs - now()
  if (wait <= 0 || signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, wait)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Calls back when a process of the stack exits without the run having stopped it. */
function watchUnexpectedExits(stack: ChaosStack, onExit: (reason: string) => void): { stop(): void } {
  let stopped = false
  const watch = (p: ManagedProcess | null | undefined) => {
    void p?.exited.then((exit) => {
      if (!stopped && !p.stopping)
        onExit(
          `${p.name} (pid ${p.pid}) exited during the run (${exit.signal ?? `code ${exit.code}`}); see its log`,
        )
    })
  }
  watch(stack.mockProcess)
  watch(stack.toxiproxy?.process)
  for (const instance of stack.instances) watch(instance.process)
  // Redis and replaced instances come and go by the timeline's own hand: only the first ones are watched.
  if (stack.redis) watch(stack.redis.process)
  return {
    stop() {
      stopped = true
    },
  }
}

function writeChaosFiles(dir: string, summary: ChaosSummary, evidence: Evidence): void {
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`)
  writeFileSync(join(dir, 'report.html'), renderChaosReport(summary))
  const lines = (items: readonly unknown[]) =>
    items.map((i) => JSON.stringify(i)).join('\n') + (items.length ? '\n' : '')
  writeFileSync(join(dir, 'requests.ndjson'), lines(evidence.records))
  writeFileSync(join(dir, 'health.ndjson'), lines(evidence.health))
  writeFileSync(join(dir, 'metrics.ndjson'), lines(evidence.metrics))
}

function stamp(date: Date): string {
  const iso = date.toISOString()
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`
}
