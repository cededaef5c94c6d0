// Engine result + tier + run facts -> the engine-neutral RunSummary (not yet validated: the runner
// validates with parseSummary before writing). Seed baselines are judged here, with one rule
// (reports/src/baseline.ts); whether the generator was the limit, by generator-verdict.ts.
import { evaluateBaseline, tooFewForErrorRate } from '../../reports/src/baseline.ts'
import {
  type BaselineResult,
  type GeneratorHealth,
  type RunSummary,
  SCHEMA_VERSION,
  type ScenarioResult,
  type ShardResult,
  type TimePoint,
} from '../../reports/src/summary.ts'
import type { EngineResult, Tick } from '../engines/plan.ts'
import {
  createStriping,
  type ExecutionSegment,
  formatSegment,
  formatSequence,
  isWhole,
  segmentShare,
} from '../engines/segment.ts'
import type { ScenarioName, WeightedScenario } from '../scenario.ts'
import type { Tier } from '../tiers.ts'
import { capacityVerdict, type GeneratorCapacity } from './generator-capacity.ts'
import { judgeGenerator } from './generator-verdict.ts'
import { type MockLatency, mockLatencyNote } from './mock-latency.ts'

export type SummaryInput = {
  readonly runId: string
  readonly tier: Tier
  readonly durationScale: number
  readonly engine: 'native' | 'autocannon'
  readonly loadModel: 'open' | 'closed'
  readonly seed: number
  readonly targetUrl: string
  readonly mockProfile: string | null
  /** Node options the proxy was started with after its own (an experiment), if any. */
  readonly proxyNodeFlags?: readonly string[]
  /** The proxy's settings taken from the caller's environment (stack.ts proxyEnvOf). */
  readonly proxyEnv?: Readonly<Record<string, string>>
  readonly command: string
  readonly startedAt: Date
  readonly endedAt: Date
  readonly environment: Omit<RunSummary['environment'], 'generator_notes'>
  readonly sharedHost: boolean
  readonly result: EngineResult | null
  readonly mix: readonly WeightedScenario[]
  readonly skipped: ReadonlyMap<ScenarioName, string>
  readonly proxyMetrics?: RunSummary['proxy_metrics']
  /** Why the run broke, when it did. */
  readonly broken: string | null
  readonly capacity: GeneratorCapacity | null
  /** The mock providers' latency, when the run booted them. */
  readonly mockLatency?: MockLatency
  /** Every target, when the requests were spread over several. */
  readonly targets?: readonly string[]
  /** One shard of a split run: its execution segment, judged on its share of the tier. */
  readonly segment?: { readonly segment: ExecutionSegment; readonly startAt?: Date }
  /** A merge of shards: their generators judged one by one (merge.ts), and the shards themselves. */
  readonly merged?: {
    readonly generator: GeneratorHealth
    readonly notes: readonly string[]
    readonly shards: readonly ShardResult[]
  }
}

const r2 = (value: number) => Math.round(value * 100) / 100
const r4 = (value: number) => Math.round(value * 10_000) / 10_000

export function seedBaselines(tier: Tier, result: EngineResult | null): BaselineResult[] {
  const p = tier.latency.percentile
  const threshold = r2(tier.expectedRps * tier.rpsTolerance)
  const stall = stallThresholdMs(tier.expectedRps, tier.durationS - tier.rampUpS)
  return [
    evaluateBaseline(
      {
        name: `p${p} latency below ${tier.latency.maxMs} ms`,
        metric: `latency_p${p}_ms`,
        comparator: '<',
        threshold: tier.latency.maxMs,
        unit: 'ms',
      },
      result?.latencyAtTargetMs ?? null,
    ),
    evaluateBaseline(
      // A tier that allows no error at all (error_rate_max 0) is held by a run without one.
      tier.errorRateMax > 0
        ? {
            name: `error rate below ${r2(tier.errorRateMax * 100)} %`,
            metric: 'error_rate',
            comparator: '<',
            threshold: tier.errorRateMax,
            unit: 'ratio',
          }
        : { name: 'no error', metric: 'error_rate', comparator: '<=', threshold: 0, unit: 'ratio' },
      result && result.requests > 0 ? r4(result.errors / result.requests) : null,
    ),
    evaluateBaseline(
      {
        name: `throughput after ramp-up at least ${threshold} req/s (${tier.rpsTolerance * 100} % of ${tier.expectedRps})`,
        metric: 'rps_after_ramp_up',
        comparator: '>=',
        threshold,
        unit: 'rps',
      },
      result ? result.steadyRps : null,
    ),
    evaluateBaseline(
      {
        // Above two seconds, the name says why: at this rate a second less can be chance.
        name: `no stall of ${stall / 1000} s or more after ramp-up${stall > STALL_MS ? ` (${stall / 1000 - 1} s is chance here)` : ''}`,
        metric: 'longest_stall_ms',
        comparator: '<',
        threshold: stall,
        unit: 'ms',
      },
      result ? longestStallMs(result.ticks, tier.rampUpS, tier.durationS, longestAnswerOf(result)) : null,
    ),
  ]
}

/** A stall judged by whole seconds of the time series: two in a row is one of at least 1 s, most likely more. */
export const STALL_MS = 2000
/** The share of healthy runs the stall baseline may fail by chance: one in a thousand. */
export const STALL_FALSE_ALARMS = 0.001

/**
 * The shortest stall (ms, whole seconds, at least STALL_MS) that a run of `seconds` at `rps` shows
 * beyond chance. Answers finish at random even when every arrival is on time (latencies vary, a
 * Poisson arrival process is random itself): at 5 req/s two seconds without a finish come in about
 * one full-length light run in a hundred, at 2 req/s in nearly every one. With finishes as a
 * Poisson process, a silence of s seconds somewhere among the run's rps x seconds gaps has a
 * chance of about rps x seconds x e^(-rps x s); the threshold is the s that brings it to
 * STALL_FALSE_ALARMS: 3 s at 5 req/s, 2 s from 8 req/s on (over 270 s).
 */
export function stallThresholdMs(rps: number, seconds: number): number {
  if (!(rps > 0)) return Number.POSITIVE_INFINITY
  const gaps = Math.max(1, rps * seconds)
  const s = Math.log(gaps / STALL_FALSE_ALARMS) / rps
  return Math.max(STALL_MS, Math.ceil(s - 1e-9) * 1000)
}

/**
 * The longest run of whole seconds after the ramp-up in which requests were in flight (active at the
 * second's end) and none finished (a dropped arrival is not a finish), in ms. The seed baselines
 * cannot see a stall: ten seconds in which the target answers nothing delay 50 of light's 1,425
 * requests (3.5 %, under p95), fail none and leave the average rate after the ramp-up where it was.
 * The ramp-up is not judged: a rate near zero leaves seconds empty by chance.
 *
 * Up to the last arrival (`toS`) new requests keep coming, so a working target keeps finishing some.
 * In the drain nothing new arrives and the last long streams finish one by one: seconds without a
 * finish are what a healthy end looks like, whatever the threshold. A target that stops answering near
 * the end looks the same second by second, its requests cut as `interrupted` when the drain ends (a
 * target dead for the last 12 s of a full heavy run passed). What tells them apart is how long the
 * requests in flight had waited: each arrived by `toS`, so at a drain second's end `t` it had waited at
 * least t - toS. Once that is longer than the run's longest answer (`longestAnswerS`, the drain's
 * included), none of them can be an answer on its way: each will end as a failure that waited longer
 * than anything the target answered. A drain second is judged from then on, by the same rule and
 * threshold. A run whose last 10 s streams finish during the drain is judged on none of it (its longest
 * answer is 10 s); a target that hangs near the end after answers of a few ms, on every second of it.
 * Without `longestAnswerS` no drain second is judged.
 */
export function longestStallMs(
  ticks: readonly Pick<Tick, 't' | 'requests' | 'dropped' | 'active_users'>[],
  fromS: number,
  toS: number,
  longestAnswerS = Number.POSITIVE_INFINITY,
  bucketS = 1,
): number {
  let run = 0
  let longest = 0
  for (const tick of ticks) {
    const judged = tick.t - bucketS >= fromS - 1e-9 && (tick.t <= toS + 1e-9 || tick.t - toS > longestAnswerS)
    const stalled = judged && (tick.requests ?? 0) - (tick.dropped ?? 0) === 0 && tick.active_users > 0
    run = stalled ? run + 1 : 0
    longest = Math.max(longest, run)
  }
  return longest * bucketS * 1000
}

/**
 * The longest successful request of a run (s): its scenarios' latency counts answers only. 0 when
 * nothing was answered (every request in flight in the drain is then overdue).
 */
export function longestAnswerOf(result: Pick<EngineResult, 'scenarios'>): number {
  let longest = 0
  for (const s of result.scenarios) longest = Math.max(longest, s.latency_ms?.max ?? 0)
  return longest / 1000
}

/** The tier a run is judged on: a shard's share of its users and of its rate, else the tier. */
export function judgedTier(tier: Tier, segment: ExecutionSegment | undefined): Tier {
  if (!segment || isWhole(segment)) return tier
  return {
    ...tier,
    users: createStriping(segment).count(tier.users),
    expectedRps: r4(tier.expectedRps * segmentShare(segment)),
  }
}

/**
 * Why a run that made no error cannot show its error rate below the tier's (reports/src/baseline.ts
 * tooFewForErrorRate), or undefined.
 */
export function tooFewToJudgeErrors(tier: Tier, result: EngineResult | null): string | undefined {
  if (!result || !tooFewForErrorRate(result.requests, result.errors, tier.errorRateMax)) return undefined
  const needed = Math.floor(1 / tier.errorRateMax) + 1
  const one = result.requests > 0 ? `one error would be ${r2(100 / result.requests)} %` : 'nothing was sent'
  return `${result.requests} requests are too few to show an error rate below ${r2(tier.errorRateMax * 100)} % (${one}); a run of ${needed} requests or more can (a longer --duration-scale)`
}

/**
 * Why a run cannot show a stall, or undefined: at its rate a silence as long as the part of it that
 * is judged (after the ramp-up) happens by chance (stallThresholdMs), so the baseline cannot fail.
 */
export function tooSlowToJudgeStalls(tier: Tier): string | undefined {
  const judged = tier.durationS - tier.rampUpS
  const threshold = stallThresholdMs(tier.expectedRps, judged)
  if (threshold <= judged * 1000) return undefined
  return `${tier.expectedRps} req/s over ${r2(judged)} s cannot show a stall: a silence of ${Number.isFinite(threshold) ? `${threshold / 1000} s` : 'any length'} happens by chance at that rate (a higher rate can)`
}

export function buildSummary(input: SummaryInput): RunSummary {
  const { result } = input
  const tier = judgedTier(input.tier, input.segment?.segment)
  const baselines = seedBaselines(tier, result)
  const failing = baselines.filter((b) => !b.passed)
  const generator = input.merged?.generator ?? (result ? generatorHealth(input, result) : undefined)
  const failures = failing
    .map((b) => `${b.metric} ${b.actual ?? 'not measured'} vs ${b.comparator} ${b.threshold}`)
    .join('; ')
  // A generator that may have been the limit measured itself as much as the target: neither verdict
  // holds. Nor does a pass on too few requests to show the error rate, or too slow a rate to show a stall.
  const tooFew =
    failing.length === 0 ? (tooFewToJudgeErrors(tier, result) ?? tooSlowToJudgeStalls(tier)) : undefined
  const status = input.broken
    ? 'broken'
    : generator?.limited
      ? 'inconclusive'
      : failing.length > 0
        ? 'failed'
        : tooFew
          ? 'inconclusive'
          : 'passed'
  const status_reason =
    status === 'broken'
      ? (input.broken ?? undefined)
      : status === 'inconclusive'
        ? generator?.limited
          ? `inconclusive: the generator may have been the limit (${generator?.reasons?.join('; ')})${failing.length > 0 ? `; not blamed on the target: ${failures}` : ''}`
          : `inconclusive: ${tooFew}`
        : failing.length > 0
          ? failures
          : undefined
  const durationS = result?.durationS ?? (input.endedAt.getTime() - input.startedAt.getTime()) / 1000
  const requests = result?.requests ?? 0
  const errors = result?.errors ?? 0
  const summary: RunSummary = {
    schema_version: SCHEMA_VERSION,
    status,
    ...(status_reason ? { status_reason } : {}),
    run: {
      id: input.runId,
      tier: tier.name,
      engine: input.engine,
      ...(result ? { engine_version: result.engineVersion } : {}),
      started_at: input.startedAt.toISOString(),
      ended_at: input.endedAt.toISOString(),
      duration_s: r2(durationS),
      duration_scale: input.durationScale,
      seed: input.seed,
      target_url: input.targetUrl,
      mock_profile: input.mockProfile,
      ...(input.proxyEnv && Object.keys(input.proxyEnv).length > 0
        ? { proxy_env: { ...input.proxyEnv } }
        : {}),
      ...(input.proxyNodeFlags && input.proxyNodeFlags.length > 0
        ? { proxy_node_flags: [...input.proxyNodeFlags] }
        : {}),
      load_model: input.loadModel,
      ...(input.mockLatency ? { mock_latency: input.mockLatency } : {}),
      ...(input.loadModel === 'open' && input.engine === 'native' ? { arrival: tier.arrival } : {}),
      ...(input.targets && input.targets.length > 1 ? { targets: [...input.targets] } : {}),
      ...(input.segment ? { segment: segmentFacts(input, tier) } : {}),
      command: input.command,
    },
    environment: { ...input.environment, generator_notes: generatorNotes(input) },
    tier: {
      name: tier.name,
      users: input.tier.users,
      duration_s: r2(tier.durationS),
      ramp_up_s: r2(tier.rampUpS),
      expected_rps: input.tier.expectedRps,
      latency_target: { percentile: tier.latency.percentile, max_ms: tier.latency.maxMs },
      error_rate_max: tier.errorRateMax,
      ...(tier.thinkTimeS ? { think_time_s: { ...tier.thinkTimeS } } : {}),
      scenarios: tier.scenarios.map((s) => ({ name: s.name, weight: s.weight })),
    },
    totals: {
      requests,
      errors,
      error_rate: requests === 0 ? 0 : r4(errors / requests),
      rps: durationS > 0 ? r2(requests / durationS) : 0,
      ...(result ? { rps_after_ramp_up: result.steadyRps } : {}),
      ...(result?.droppedIterations !== undefined ? { dropped_iterations: result.droppedIterations } : {}),
      ...(result?.inFlightAtEnd
        ? {
            in_flight_at_end: {
              count: result.inFlightAtEnd.count,
              oldest_ms: r2(result.inFlightAtEnd.oldestMs),
            },
          }
        : {}),
      ...(result?.latency_ms ? { latency_ms: result.latency_ms } : {}),
      ...(result?.stream ? { stream: result.stream } : {}),
      ...(result?.stream_by_cache ? { stream_by_cache: result.stream_by_cache } : {}),
      ...(result?.serverTiming ? { server_timing: result.serverTiming } : {}),
      ...(result?.xCache ? { x_cache: { ...result.xCache } } : {}),
    },
    scenarios: scenarioResults(input, durationS),
    ...(result && result.ticks.length > 0
      ? {
          timeseries: {
            bucket_s: 1,
            points: result.ticks.map((tick) => toTimePoint(tick, result.droppedIterations !== undefined)),
          },
        }
      : {}),
    ...(result && result.histogram.length > 0
      ? { latency_histogram: { buckets: [...result.histogram] } }
      : {}),
    ...(input.proxyMetrics ? { proxy_metrics: input.proxyMetrics } : {}),
    baselines,
    ...(generator ? { generator } : {}),
    ...(input.merged ? { shards: [...input.merged.shards] } : {}),
    errors_by_kind: { ...(result?.errorsByKind ?? {}) },
  }
  return summary
}

function segmentFacts(input: SummaryInput, judged: Tier): NonNullable<RunSummary['run']['segment']> {
  const { segment, startAt } = input.segment!
  const lag = input.result?.startLagMs
  return {
    segment: formatSegment(segment),
    sequence: formatSequence(segment),
    share: r4(segmentShare(segment)),
    users: judged.users,
    expected_rps: judged.expectedRps,
    ...(startAt ? { start_at: startAt.toISOString() } : {}),
    ...(lag !== undefined ? { start_lag_ms: lag } : {}),
  }
}

function scenarioResults(input: SummaryInput, durationS: number): ScenarioResult[] {
  const effective = new Map(input.mix.map((s) => [s.name, s.weight]))
  return input.tier.scenarios.map(({ name }) => {
    const reason = input.skipped.get(name)
    if (reason) return { name, weight: 0, requests: 0, errors: 0, error_rate: 0, rps: 0, skipped: { reason } }
    const stats = input.result?.scenarios.find((s) => s.name === name)
    const requests = stats?.requests ?? 0
    const errors = stats?.errors ?? 0
    return {
      name,
      weight: effective.get(name) ?? 0,
      requests,
      errors,
      error_rate: requests === 0 ? 0 : r4(errors / requests),
      rps: durationS > 0 ? r2(requests / durationS) : 0,
      ...(stats?.latency_ms ? { latency_ms: stats.latency_ms } : {}),
      ...(stats?.stream ? { stream: stats.stream } : {}),
      ...(stats?.stream_by_cache ? { stream_by_cache: stats.stream_by_cache } : {}),
    }
  })
}

function toTimePoint(tick: Tick, openModel: boolean): TimePoint {
  const {
    errors: _errors,
    cpu_percent: _cpu,
    dropped,
    loop_delay_p95_ms: _delay,
    loop_utilization: _utilization,
    ...point
  } = tick
  return openModel ? { ...point, dropped } : point
}

function capacityOf(input: SummaryInput, result: EngineResult) {
  return capacityVerdict(
    input.capacity,
    input.engine,
    result.steadyRps,
    input.environment.cpu_model,
    input.mix,
  )
}

function generatorHealth(input: SummaryInput, result: EngineResult): NonNullable<RunSummary['generator']> {
  return judgeGenerator(result, input.tier.rampUpS, input.tier.latency.percentile, capacityOf(input, result))
}

function generatorNotes(input: SummaryInput): string[] {
  const notes: string[] = []
  const result = input.result
  const tier = judgedTier(input.tier, input.segment?.segment)
  if (input.mockLatency) notes.push(mockLatencyNote(input.mockLatency, input.mockProfile))
  const env = Object.entries(input.proxyEnv ?? {})
  if (env.length > 0)
    notes.push(
      `the proxy took these settings from the environment, over its configuration file: ${env.map(([k, v]) => `${k}=${v}`).join(', ')}.`,
    )
  if (input.engine === 'native') {
    notes.push(
      input.loadModel === 'open'
        ? `native engine, open model: ${tier.arrival} arrivals ramping to ${tier.expectedRps} req/s; latency from the intended send time (coordinated omission corrected); at most ${tier.users} requests in flight: an arrival beyond is dropped, counted as a failed request and given the latency it had at least (until a connection freed up, or the end of the run).`
        : `native engine, closed model: ${tier.users} users with ${tier.thinkTimeS ? `${tier.thinkTimeS.min}-${tier.thinkTimeS.max} s` : 'no'} think time; latency from the actual send (a closed loop hides stalls beyond its own requests).`,
    )
  }
  if (input.segment) {
    const { segment } = input.segment
    const lag = result?.startLagMs
    notes.push(
      `execution segment ${formatSegment(segment)} of ${formatSequence(segment)}: ${r4(segmentShare(segment) * 100)} % of the tier's arrivals, users and requests (${tier.expectedRps} of ${input.tier.expectedRps} req/s, ${tier.users} of ${input.tier.users} users), judged on that share; the run's verdict is that of the merged shards (npm run load:merge)${lag === undefined ? '' : `; it started ${r2(lag)} ms after its start time`}.`,
    )
  }
  if (result) notes.push(...result.notes)
  if (result?.inFlightAtEnd) {
    const { count, oldestMs } = result.inFlightAtEnd
    notes.push(
      count === 0
        ? 'autocannon: no request was in flight when it stopped (it would have dropped it uncounted).'
        : `autocannon: ${count} request${count === 1 ? ' was' : 's were'} still in flight when it stopped, the oldest for ${r2(oldestMs)} ms: autocannon drops them, so they are in neither the request count nor the latency (${input.result?.requests ?? 0} recorded of ${(input.result?.requests ?? 0) + count} sent).`,
    )
  }
  if (input.sharedHost) {
    notes.push(
      `mocks, proxy and generator share this host (${input.environment.cpu_count} CPUs): their CPU use competes.`,
    )
  }
  if (result?.droppedIterations) {
    notes.push(
      `${result.droppedIterations} arrivals were dropped: ${tier.users} requests were already in flight (the target answered slower than users / rate allows). They count as failed requests (dropped) and their lower-bound latency is in the percentiles; the time series shows when.`,
    )
  }
  if (result?.sendLagMs) {
    notes.push(
      `send lag behind the intended time: p50 ${r2(result.sendLagMs.p50)} ms,${result.sendLagMs.p95 === undefined ? '' : ` p95 ${r2(result.sendLagMs.p95)} ms,`} p99 ${r2(result.sendLagMs.p99)} ms, max ${r2(result.sendLagMs.max)} ms.`,
    )
  }
  if (input.merged) notes.push(...input.merged.notes)
  else if (result) {
    const load = result.generatorLoad
    notes.push(
      `generator CPU: mean ${result.cpu.mean} %, max ${result.cpu.max} % of one core${load ? `; event loop busy ${Math.round(load.eventLoopUtilization * 100)} % of the run, its delay p50 ${r2(load.eventLoopDelayMs.p50)} ms, p99 ${r2(load.eventLoopDelayMs.p99)} ms, max ${r2(load.eventLoopDelayMs.max)} ms` : ''}.`,
    )
    const verdict = capacityOf(input, result)
    if (verdict) notes.push(verdict.note)
    else notes.push('generator ceiling unknown: run `npm run bench:generator` to measure it on this machine.')
  }
  const timing = result?.serverTiming
  if (timing) {
    notes.push(
      `latency attribution (Server-Timing, ${timing.requests} successful requests): the proxy's own time p50 ${timing.proxy_ms.p50} ms, p95 ${timing.proxy_ms.p95} ms, mean ${timing.proxy_ms.mean} ms${timing.upstream_ms ? `; upstream p50 ${timing.upstream_ms.p50} ms, p95 ${timing.upstream_ms.p95} ms, mean ${timing.upstream_ms.mean} ms` : ''}.`,
    )
  }
  if (input.engine === 'autocannon' && input.loadModel === 'closed' && input.tier.loadModel === 'open') {
    notes.push('autocannon has no open model: this tier ran as a closed loop paced by its rate limiter.')
  }
  return notes
}
