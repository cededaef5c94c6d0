// The contract between the runner and an engine: what to run (a plan, plain JSON so it crosses the
// IPC channel), what comes back every second (a tick) and at the end (a result).
import type {
  LatencyStats,
  ServerTiming,
  StreamByCache,
  StreamStats,
  TimePoint,
} from '../../reports/src/summary.ts'
import type { ScenarioName, WeightedScenario } from '../scenario.ts'
import type { CorpusConfig } from '../tiers.ts'
import type { RunHistograms } from './hdr.ts'
import type { CacheStatus, Outcome } from './recorder.ts'
import type { ExecutionSegment } from './segment.ts'

export const ENGINES = ['native', 'autocannon'] as const
export type EngineName = (typeof ENGINES)[number]

export type EnginePlan = {
  readonly engine: EngineName
  /** Origin plus an optional path prefix, e.g. http://127.0.0.1:8000 */
  readonly targetUrl: string
  /**
   * Several targets (native engine): request k of the schedule goes to targets[k mod n], so the spread
   * is deterministic and the same whatever the execution segments. Absent: [targetUrl].
   */
  readonly targets?: readonly string[]
  /** The execution segment this engine runs (native engine); absent: the whole schedule. */
  readonly segment?: ExecutionSegment
  /** Wall-clock time (epoch ms) the schedule starts at: the engine waits for it (shards start together). */
  readonly startAt?: number
  readonly apiKey: string | null
  readonly loadModel: 'open' | 'closed'
  readonly arrival: 'poisson' | 'constant'
  /**
   * Open model: the in-flight cap. Closed model: the number of users. autocannon: connections. Of the
   * whole schedule: an execution segment takes its share.
   */
  readonly users: number
  /** Arrival rate after the ramp-up (open model, autocannon's rate limit), of the whole schedule. */
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
  /** Arrivals dropped in this bucket (open model). */
  readonly dropped: number
  /** p95 of the generator's event-loop delay in this bucket, ms. */
  readonly loop_delay_p95_ms?: number
  /** Share of this bucket the generator's event loop was busy, 0..1. */
  readonly loop_utilization?: number
}

export type ScenarioStats = {
  readonly name: ScenarioName
  readonly requests: number
  readonly errors: number
  readonly latency_ms?: LatencyStats
  readonly stream?: StreamStats
  readonly stream_by_cache?: StreamByCache
}

export type ServerTimingStats = ServerTiming

/** The generator's own load over the run. */
export type GeneratorLoad = {
  /** How late its event loop ran due timers (ms beyond the monitor's resolution). */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number }
  /** Share of the run its event loop was busy, 0..1. */
  readonly eventLoopUtilization: number
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
  /** Latency (ms) at the plan's latencyPercentile (answers, dropped arrivals, failures at least the median answer long; recorder.ts); null when none succeeded. */
  readonly latencyAtTargetMs: number | null
  readonly stream?: StreamStats
  /** Stream figures by how the proxy's cache answered (x-cache): replays and generations apart. */
  readonly stream_by_cache?: StreamByCache
  readonly scenarios: readonly ScenarioStats[]
  readonly ticks: readonly Tick[]
  readonly histogram: readonly { le_ms: number; count: number }[]
  readonly errorsByKind: Readonly<Record<string, number>>
  /**
   * Open model: arrivals not sent because `users` requests were already in flight. Each is also a
   * failed request (`dropped`) with its lower-bound latency in the percentiles.
   */
  readonly droppedIterations?: number
  /** autocannon: requests sent but still unanswered when it stopped (it drops them uncounted). */
  readonly inFlightAtEnd?: { readonly count: number; readonly oldestMs: number }
  /** Open model: how late the generator sent, against the intended send time (ms). */
  readonly sendLagMs?: {
    readonly p50: number
    readonly p95?: number
    readonly p99: number
    readonly max: number
  }
  /** Successful requests per second completed between the end of the ramp-up and the end of the run. */
  readonly steadyRps: number
  /** The window steadyRps divides by, seconds. */
  readonly steadySpanS?: number
  readonly intendedRps: number
  readonly cpu: { readonly mean: number; readonly max: number }
  readonly generatorLoad?: GeneratorLoad
  /** The proxy's own time and the upstream time per request, from its Server-Timing header. */
  readonly serverTiming?: ServerTimingStats
  /** The latencies of the percentile above by time bucket (the CI gate's samples). */
  readonly samples: readonly (readonly number[])[]
  /** TTFT and inter-token gaps of generated streams by time bucket (a merge's per-second percentiles). */
  readonly streamSamples?: {
    readonly ttft: readonly (readonly number[])[]
    readonly itl: readonly (readonly number[])[]
  }
  /** Successful requests by the proxy's x-cache answer header. */
  readonly xCache?: Readonly<Record<CacheStatus, number>>
  /** The run's histograms in a lossless, mergeable encoding (histograms.json). */
  readonly histograms?: RunHistograms
  /** With a start time (plan.startAt): how late the schedule started against it, ms. */
  readonly startLagMs?: number
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
