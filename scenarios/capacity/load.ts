// One step of a capacity sweep: a constant arrival rate (open model) or a fixed number of users
// sending back to back (closed model, the "max throughput" step), run by the native engine in its own
// process, warmed up, then measured over a steady-state window while the monitor watches resources.
import { linearRegression } from 'simple-statistics'
import { runEngine } from '../engines/engine-process.ts'
import type { EnginePlan, Tick } from '../engines/plan.ts'
import type { WeightedScenario } from '../scenario.ts'
import type { CorpusConfig } from '../tiers.ts'
import type { WindowedPlan } from './load-worker.ts'
import { type Processes, type ResourceWindow, startMonitor } from './monitor.ts'
import type { WindowStats } from './window.ts'

const LOAD_WORKER_PATH = new URL('./load-worker.ts', import.meta.url).pathname

/** Generator CPU (mean, % of one core) above which a step measured the generator. */
export const GENERATOR_CPU_LIMIT = 90
/**
 * p99 lateness of sends above which the generator was the limit: at least 50 ms and a tenth of the
 * step's median latency. Lateness is counted in every latency (measured from the intended send), so
 * on seconds-long streams a machine that runs timers 80 ms late still measures the target.
 */
export function lagLimitMs(latencyP50Ms: number | null): number {
  return Math.max(50, (latencyP50Ms ?? 0) / 10)
}

export type StepSpec =
  | { readonly kind: 'rate'; readonly rps: number }
  | { readonly kind: 'closed'; readonly users: number }

export type StepOptions = {
  readonly targetUrl: string
  readonly apiKey: string | null
  readonly mix: readonly WeightedScenario[]
  readonly corpus: CorpusConfig
  readonly seed: number
  readonly warmupS: number
  readonly windowS: number
  readonly drainS: number
  /** Open model: the in-flight cap (arrivals beyond it are dropped and counted). */
  readonly maxInFlight: number
  readonly requestTimeoutS: number
  readonly processes?: Processes
  readonly signal?: AbortSignal
  readonly onTick?: (tick: Tick) => void
  readonly onSpawn?: (pid: number) => void
}

export type Concurrency = {
  /** Requests in flight at the generator, mean over the window's seconds. */
  readonly mean: number
  readonly max: number
  /** How much the in-flight count grew over the window (least-squares slope x window). */
  readonly growth: number
}

export type StepResult = {
  readonly spec: StepSpec
  readonly window: WindowStats
  readonly concurrency: Concurrency
  /** Arrivals dropped in the window because maxInFlight requests were in flight. */
  readonly dropped: number
  readonly resources: ResourceWindow
  readonly generator: {
    readonly cpuPercent: number
    readonly sendLagP99Ms: number | null
    readonly limited: boolean
  }
}

export async function runStep(spec: StepSpec, options: StepOptions): Promise<StepResult> {
  const plan: WindowedPlan = {
    engine: 'native',
    targetUrl: options.targetUrl,
    apiKey: options.apiKey,
    loadModel: spec.kind === 'rate' ? 'open' : 'closed',
    arrival: 'constant',
    users: spec.kind === 'rate' ? options.maxInFlight : spec.users,
    rps: spec.kind === 'rate' ? spec.rps : 1,
    durationS: options.warmupS + options.windowS,
    // Closed users start over a few seconds, not all in the same millisecond.
    rampUpS: spec.kind === 'rate' ? 0 : Math.min(5, options.warmupS / 2),
    thinkTimeS: undefined,
    mix: options.mix,
    corpus: options.corpus,
    seed: options.seed,
    requestTimeoutS: options.requestTimeoutS,
    drainS: options.drainS,
    bucketS: 1,
    latencyPercentile: 95,
    samplesPerBucket: 0,
    window: { fromS: options.warmupS, toS: options.warmupS + options.windowS },
  }
  const monitor = startMonitor({ targetUrl: options.targetUrl, processes: options.processes })
  // The engine's clock starts in its own process; its first tick (t = 1 s) ties the two clocks.
  let offsetMs: number | null = null
  try {
    const result = await runEngine(plan satisfies EnginePlan, {
      workerPath: LOAD_WORKER_PATH,
      signal: options.signal,
      onSpawn: (pid) => {
        monitor.setEnginePid(pid)
        options.onSpawn?.(pid)
      },
      onTick: (tick) => {
        offsetMs ??= monitor.elapsedMs() - tick.t * 1000
        options.onTick?.(tick)
      },
    })
    await monitor.stop()
    const from = plan.window.fromS
    const to = plan.window.toS
    const ticks = result.ticks.filter((t) => t.t > from && t.t <= to)
    const shift = offsetMs ?? 0
    const lag = result.sendLagMs?.p99 ?? null
    return {
      spec,
      window: result.raw as WindowStats,
      concurrency: concurrencyOf(ticks, options.windowS),
      dropped: ticks.reduce((sum, t) => sum + t.dropped, 0),
      resources: monitor.window(from * 1000 + shift, to * 1000 + shift),
      generator: {
        cpuPercent: result.cpu.mean,
        sendLagP99Ms: lag,
        limited:
          result.cpu.mean > GENERATOR_CPU_LIMIT ||
          (lag !== null && lag > lagLimitMs((result.raw as WindowStats).latency_ms?.p50 ?? null)),
      },
    }
  } finally {
    await monitor.stop()
  }
}

export function concurrencyOf(
  ticks: readonly Pick<Tick, 't' | 'active_users'>[],
  windowS: number,
): Concurrency {
  if (ticks.length === 0) return { mean: 0, max: 0, growth: 0 }
  const values = ticks.map((t) => t.active_users)
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const slope = ticks.length < 3 ? 0 : linearRegression(ticks.map((t) => [t.t, t.active_users])).m
  const r1 = (v: number) => Math.round(v * 10) / 10
  return { mean: r1(mean), max: Math.max(...values), growth: r1(slope * windowS) }
}
