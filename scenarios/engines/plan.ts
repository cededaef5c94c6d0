// The contract between the runner and an engine: what to run (a plan, plain JSON so it crosses the
// IPC channel), what comes back every second (a tick) and at the end (a result).
import type { LatencyStats, StreamStats, TimePoint } from '../../reports/src/summary.ts'
import type { ScenarioName, WeightedScenario } from '../scenario.ts'
import type { CorpusConfig } from '../tiers.ts'
import type { Outcome } from './recorder.ts'

export const ENGINES = ['native', 'autocannon'] as const
export type EngineName = (typeof ENGINES)[number]

export type EnginePlan = {
  readonly engine: EngineName
  /** Origin plus an optional path prefix, e.g. http://127.0.0.1:8000 */
  readonly targetUrl: string
  readonly apiKey: string | null
  readonly loadModel: 'open' | 'closed'
  readonly arrival: 'poisson' | 'constant'
  /** Open model: the in-flight cap. Closed model: the number of users. autocannon: connections. */
  readonly users: number
  /** Arrival rate after the ramp-up (open model, autocannon's rate limit). */
  readonly rps: number
  readonly durationS: number
  readonly rampUpS: number
  /** Closed model; absent: users send back to back. */
  readonly thinkTimeS: { readonly min: number; readonly max: number } | undefined
  /** The effective mix (skipped scenarios have weight 0). */
  readonly mix: readonly WeightedScenario[]
  readonly corpus: CorpusConfig
  readonly seed: number
  readonly requestTimeoutS: number
  readonly drainS: number
  readonly bucketS: number
  /** The tier's latency percentile (e.g. 95): the result carries the latency at it. */
  readonly latencyPercentile: number
  /** Latencies kept per time bucket for the CI gate's bootstrap (reservoir sampled beyond). */
  readonly samplesPerBucket: number
}

/** A time-series point plus the generator's own health in that bucket. */
export type Tick = TimePoint & {
  readonly errors: number
  readonly cpu_percent: number
  readonly dropped: number
}

export type ScenarioStats = {
  readonly name: ScenarioName
  readonly requests: number
  readonly errors: number
  readonly latency_ms?: LatencyStats
  readonly stream?: StreamStats
}

export type EngineResult = {
  readonly engine: EngineName
  readonly engineVersion: string
  readonly loadModel: 'open' | 'closed'
  readonly startedAt: string
  readonly endedAt: string
  /** From the first send to the end of the drain. */
  readonly durationS: number
  readonly requests: number
  readonly errors: number
  readonly latency_ms?: LatencyStats
  /** Latency (ms) of successful requests at the plan's latencyPercentile; null when none succeeded. */
  readonly latencyAtTargetMs: number | null
  readonly stream?: StreamStats
  readonly scenarios: readonly ScenarioStats[]
  readonly ticks: readonly Tick[]
  readonly histogram: readonly { le_ms: number; count: number }[]
  readonly errorsByKind: Readonly<Record<string, number>>
  /** Open model: arrivals not sent because `users` requests were already in flight. */
  readonly droppedIterations?: number
  /** Open model: how late the generator sent, against the intended send time (ms). */
  readonly sendLagMs?: { readonly p50: number; readonly p99: number; readonly max: number }
  /** Requests per second completed between the end of the ramp-up and the end of the run. */
  readonly steadyRps: number
  readonly intendedRps: number
  readonly cpu: { readonly mean: number; readonly max: number }
  /** Proxy's own time per request from its Server-Timing header (`proxy;dur=`), when it sends one. */
  readonly proxyTimeMs?: {
    readonly p50: number
    readonly p95: number
    readonly p99: number
    readonly count: number
  }
  /** Latencies of successful requests by time bucket (the CI gate's samples). */
  readonly samples: readonly (readonly number[])[]
  readonly notes: readonly string[]
  /** The engine's own output, written as raw.json. */
  readonly raw?: unknown
}

export type EngineHooks = {
  onTick?: (tick: Tick) => void
  /** Every finished request, as the recorder gets it (native engine; capacity windows use it). */
  onOutcome?: (outcome: Outcome) => void
  signal?: AbortSignal
}

export type ToEngine = { type: 'start'; plan: EnginePlan } | { type: 'stop' }
export type FromEngine =
  | { type: 'tick'; tick: Tick }
  | { type: 'done'; result: EngineResult }
  | { type: 'failed'; message: string; stack?: string }
