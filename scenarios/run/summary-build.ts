// Engine result + tier + run facts -> the engine-neutral RunSummary (not yet validated: the runner
// validates with parseSummary before writing). Seed baselines are judged here, with one rule
// (reports/src/baseline.ts).
import { evaluateBaseline } from '../../reports/src/baseline.ts'
import type { BaselineResult, RunSummary, ScenarioResult, TimePoint } from '../../reports/src/summary.ts'
import type { EngineResult, Tick } from '../engines/plan.ts'
import type { ScenarioName, WeightedScenario } from '../scenario.ts'
import type { Tier } from '../tiers.ts'
import { capacityVerdict, type GeneratorCapacity } from './generator-capacity.ts'

/** Generator CPU (mean over the run, 100 = one core) above which the generator is called the limit. */
export const CPU_LIMIT_PERCENT = 90
/** p99 lateness of sends in the open model above which the generator is called the limit. */
export const SEND_LAG_LIMIT_MS = 50

export type SummaryInput = {
  readonly runId: string
  readonly tier: Tier
  readonly durationScale: number
  readonly engine: 'native' | 'autocannon'
  readonly loadModel: 'open' | 'closed'
  readonly seed: number
  readonly targetUrl: string
  readonly mockProfile: string | null
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
}

const r2 = (value: number) => Math.round(value * 100) / 100
const r4 = (value: number) => Math.round(value * 10_000) / 10_000

export function seedBaselines(tier: Tier, result: EngineResult | null): BaselineResult[] {
  const p = tier.latency.percentile
  const threshold = r2(tier.expectedRps * tier.rpsTolerance)
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
      {
        name: `error rate below ${r2(tier.errorRateMax * 100)} %`,
        metric: 'error_rate',
        comparator: '<',
        threshold: tier.errorRateMax,
        unit: 'ratio',
      },
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
  ]
}

export function buildSummary(input: SummaryInput): RunSummary {
  const { tier, result } = input
  const baselines = seedBaselines(tier, result)
  const failing = baselines.filter((b) => !b.passed)
  const status = input.broken ? 'broken' : failing.length > 0 ? 'failed' : 'passed'
  const status_reason = input.broken
    ? input.broken
    : failing.length > 0
      ? failing
          .map((b) => `${b.metric} ${b.actual ?? 'not measured'} vs ${b.comparator} ${b.threshold}`)
          .join('; ')
      : undefined
  const durationS = result?.durationS ?? (input.endedAt.getTime() - input.startedAt.getTime()) / 1000
  const requests = result?.requests ?? 0
  const errors = result?.errors ?? 0
  const summary: RunSummary = {
    schema_version: 1,
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
      load_model: input.loadModel,
      command: input.command,
    },
    environment: { ...input.environment, generator_notes: generatorNotes(input) },
    tier: {
      name: tier.name,
      users: tier.users,
      duration_s: r2(tier.durationS),
      ramp_up_s: r2(tier.rampUpS),
      expected_rps: tier.expectedRps,
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
      ...(result?.droppedIterations !== undefined ? { dropped_iterations: result.droppedIterations } : {}),
      ...(result?.latency_ms ? { latency_ms: result.latency_ms } : {}),
      ...(result?.stream ? { stream: result.stream } : {}),
    },
    scenarios: scenarioResults(input, durationS),
    ...(result && result.ticks.length > 0
      ? { timeseries: { bucket_s: 1, points: result.ticks.map(toTimePoint) } }
      : {}),
    ...(result && result.histogram.length > 0
      ? { latency_histogram: { buckets: [...result.histogram] } }
      : {}),
    ...(input.proxyMetrics ? { proxy_metrics: input.proxyMetrics } : {}),
    baselines,
    ...(result ? { generator: generatorHealth(input, result) } : {}),
    errors_by_kind: { ...(result?.errorsByKind ?? {}) },
  }
  return summary
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
    }
  })
}

function toTimePoint(tick: Tick): TimePoint {
  const { errors: _errors, cpu_percent: _cpu, dropped: _dropped, ...point } = tick
  return point
}

function generatorHealth(input: SummaryInput, result: EngineResult): NonNullable<RunSummary['generator']> {
  const reasons: string[] = []
  if (result.cpu.mean > CPU_LIMIT_PERCENT) reasons.push(`its CPU averaged ${result.cpu.mean} % of a core`)
  if (result.sendLagMs && result.sendLagMs.p99 > SEND_LAG_LIMIT_MS) {
    reasons.push(`it sent late (p99 ${r2(result.sendLagMs.p99)} ms behind the intended time)`)
  }
  const verdict = capacityVerdict(input.capacity, input.engine, result.steadyRps, input.environment.cpu_model)
  if (verdict?.near) reasons.push('it ran near the ceiling bench:generator measured')
  return {
    intended_rps: result.intendedRps,
    achieved_rps: result.steadyRps,
    cpu_percent_mean: result.cpu.mean,
    cpu_percent_max: result.cpu.max,
    limited: reasons.length > 0,
    ...(reasons.length > 0
      ? { note: `The generator was called the limit because ${reasons.join(', and ')}.` }
      : {}),
  }
}

function generatorNotes(input: SummaryInput): string[] {
  const notes: string[] = []
  const result = input.result
  if (input.engine === 'native') {
    notes.push(
      input.loadModel === 'open'
        ? `native engine, open model: ${input.tier.arrival} arrivals ramping to ${input.tier.expectedRps} req/s; latency from the intended send time (coordinated omission corrected); at most ${input.tier.users} requests in flight, arrivals beyond are dropped and counted.`
        : `native engine, closed model: ${input.tier.users} users with ${input.tier.thinkTimeS ? `${input.tier.thinkTimeS.min}-${input.tier.thinkTimeS.max} s` : 'no'} think time; latency from the actual send (a closed loop hides stalls beyond its own requests).`,
    )
  }
  if (result) notes.push(...result.notes)
  if (input.sharedHost) {
    notes.push(
      `mocks, proxy and generator share this host (${input.environment.cpu_count} CPUs): their CPU use competes.`,
    )
  }
  if (result?.droppedIterations) {
    notes.push(
      `${result.droppedIterations} arrivals were dropped: ${input.tier.users} requests were already in flight (the target answered slower than users / rate allows).`,
    )
  }
  if (result?.sendLagMs) {
    notes.push(
      `send lag behind the intended time: p50 ${r2(result.sendLagMs.p50)} ms, p99 ${r2(result.sendLagMs.p99)} ms, max ${r2(result.sendLagMs.max)} ms.`,
    )
  }
  if (result) {
    notes.push(`generator CPU: mean ${result.cpu.mean} %, max ${result.cpu.max} % of one core.`)
    const verdict = capacityVerdict(
      input.capacity,
      input.engine,
      result.steadyRps,
      input.environment.cpu_model,
    )
    if (verdict) notes.push(verdict.note)
    else notes.push('generator ceiling unknown: run `npm run bench:generator` to measure it on this machine.')
  }
  if (result?.proxyTimeMs) {
    const p = result.proxyTimeMs
    notes.push(
      `latency attribution: the proxy's own time (Server-Timing proxy;dur) was p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms over ${p.count} successful requests.`,
    )
  }
  if (input.engine === 'autocannon' && input.loadModel === 'closed' && input.tier.loadModel === 'open') {
    notes.push('autocannon has no open model: this tier ran as a closed loop paced by its rate limiter.')
  }
  return notes
}
