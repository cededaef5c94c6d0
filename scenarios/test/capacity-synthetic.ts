// A synthetic proxy for the capacity tests: the step results a proxy with known limits would give
// (a pool of c connections per provider, a holding time, CPU and memory per request), so the sweep,
// the knee, the model and the sizing can be checked against numbers known in advance.
import type { Slo } from '../../reports/src/capacity-summary.ts'
import type { StepOptions, StepResult, StepSpec } from '../capacity/load.ts'
import type { ResourceWindow } from '../capacity/monitor.ts'
import type { SweepOptions } from '../capacity/sweep.ts'

export type SyntheticProxy = {
  readonly workers: number
  /** max_connections per provider per worker. */
  readonly pool: Readonly<Record<string, number>>
  /** Share of requests per provider. */
  readonly shares: Readonly<Record<string, number>>
  /** Seconds a request holds its upstream connection (and its stream). */
  readonly holdingS: number
  readonly cpuIdlePercent: number
  /** Proxy CPU per req/s, % of one core. */
  readonly cpuPerRps: number
  readonly rssBaseMb: number
  readonly rssPerStreamMb: number
  readonly ttftP95Ms: number
  readonly itlP95Ms: number
}

export const DEFAULT_PROXY: SyntheticProxy = {
  workers: 1,
  pool: { 'mock-openai': 100, 'mock-anthropic': 100 },
  shares: { 'mock-openai': 0.55, 'mock-anthropic': 0.45 },
  holdingS: 5.6,
  cpuIdlePercent: 20,
  cpuPerRps: 1,
  rssBaseMb: 260,
  rssPerStreamMb: 0.5,
  ttftP95Ms: 1600,
  itlP95Ms: 30,
}

/** The rate the synthetic proxy saturates at: its pool or its CPU (W cores), whichever is lower. */
export function ceilingOf(p: SyntheticProxy): number {
  const pool = Math.min(
    ...Object.keys(p.shares).map((n) => (p.pool[n] * p.workers) / (p.shares[n] * p.holdingS)),
  )
  const cpu = (p.workers * 100 - p.cpuIdlePercent) / p.cpuPerRps
  return Math.min(pool, cpu)
}

const r2 = (v: number) => Math.round(v * 100) / 100

export function syntheticStep(p: SyntheticProxy) {
  return async (spec: StepSpec, options: StepOptions): Promise<StepResult> => {
    const ceiling = ceilingOf(p)
    const windowS = options.windowS
    const offered = spec.kind === 'rate' ? spec.rps : spec.users / p.holdingS
    const achieved = Math.min(offered, ceiling)
    const load = achieved / ceiling
    // Queueing: nothing until 97 % of the ceiling, then a wait that grows fast; past it, a queue
    // that grows by the excess every second.
    // A closed loop holds its users in flight: only an open rate builds a queue that grows.
    const excess = spec.kind === 'rate' ? Math.max(0, offered - ceiling) : 0
    const waitMs =
      spec.kind === 'closed'
        ? Math.max(0, (spec.users - ceiling * p.holdingS) / ceiling) * 1000
        : load < 0.97
          ? 0
          : 4000 * ((load - 0.97) / 0.03) + excess * 2000
    const inFlight = spec.kind === 'closed' ? spec.users : achieved * p.holdingS + (excess * windowS) / 2
    const started = Math.round((spec.kind === 'rate' ? spec.rps : achieved) * windowS)
    const latencyMean = p.holdingS * 1000 + waitMs
    const inUse: Record<string, number> = {}
    const limit: Record<string, number> = {}
    for (const name of Object.keys(p.shares)) {
      limit[name] = p.pool[name] * p.workers
      inUse[name] = r2(Math.min(limit[name], achieved * p.shares[name] * p.holdingS))
    }
    const rss = p.rssBaseMb + p.rssPerStreamMb * inFlight
    const resources: ResourceWindow = {
      proxy_cpu_percent: r2(p.cpuIdlePercent + p.cpuPerRps * achieved),
      proxy_rss_mb: r2(rss),
      proxy_rss_max_mb: r2(rss * 1.05),
      event_loop_utilization: r2(
        Math.min(1, (p.cpuIdlePercent + p.cpuPerRps * achieved) / (100 * p.workers)),
      ),
      event_loop_delay_p99_ms: 5,
      upstream_in_use: r2(Object.values(inUse).reduce((a, b) => a + b, 0)),
      upstream_in_use_by_provider: inUse,
      upstream_pending: r2(Math.max(0, inFlight - achieved * p.holdingS)),
      upstream_limit: Object.values(limit).reduce((a, b) => a + b, 0),
      upstream_limit_by_provider: limit,
      upstream_sockets: r2(Object.values(inUse).reduce((a, b) => a + b, 0)),
      client_sockets: r2(inFlight),
      open_fds_max: Math.round(100 + 2 * inFlight),
      machine_busy_percent: 80,
      mock_cpu_percent: 10,
      generator_cpu_percent: 10,
      workers: p.workers,
    }
    const q = (base: number) => ({
      p50: r2(base * 0.6),
      p90: r2(base * 0.9),
      p95: r2(base),
      p99: r2(base * 1.3),
    })
    return {
      spec,
      window: {
        from_s: options.warmupS,
        to_s: options.warmupS + windowS,
        started,
        succeeded: started,
        errors: 0,
        errors_by_kind: {},
        completed_in_window: Math.round(achieved * windowS),
        latency_ms: {
          ...q(latencyMean * 1.6),
          p50: r2(latencyMean * 0.95),
          mean: r2(latencyMean),
          max: r2(latencyMean * 2.5),
        },
        ttft_ms: q(p.ttftP95Ms + waitMs),
        itl_ms: q(p.itlP95Ms),
        tokens_mean: 325,
        latency_scv: 0.15,
      },
      concurrency: { mean: r2(inFlight), max: Math.round(inFlight * 1.1), growth: r2(excess * windowS) },
      dropped: 0,
      resources,
      generator: { cpuPercent: 10, sendLagP99Ms: 5, limited: false },
    }
  }
}

export const SLO: Slo = {
  ttft_p95_ms: 2000,
  itl_p95_ms: 100,
  latency_p95_ms: null,
  error_rate_max: 0.01,
  source: 'test',
}

/** A sweep of the synthetic proxy: its steps are computed, not run. */
export function sweepOptions(proxy: SyntheticProxy, extra: Partial<SweepOptions> = {}): SweepOptions {
  return {
    targetUrl: 'http://127.0.0.1:9',
    apiKey: null,
    mix: [{ name: 'chat-stream-long', weight: 1 }],
    corpus: { size: 10, zipfExponent: 1, models: ['gpt-4o-mini'] },
    seed: 1,
    warmupS: 12,
    windowS: 25,
    drainS: 30,
    maxInFlight: 2000,
    requestTimeoutS: 60,
    workers: proxy.workers,
    slo: SLO,
    rates: 7,
    refine: 3,
    maxUsers: 600,
    fitShare: 0.6,
    check: true,
    memoryMb: 2048,
    cpuCount: 2,
    fdLimit: 20000,
    step: syntheticStep(proxy),
    ...extra,
  }
}
