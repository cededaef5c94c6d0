// Evidence -> the chaos summary (reports/src/chaos-summary.ts): per-second series by intended start
// time, the mocks' call rates, memory, breaker and health timelines, events, and the judged phases.
import type { ChaosPhaseResult, ChaosSummary } from '../../reports/src/chaos-summary.ts'
import { CHAOS_SCHEMA_VERSION } from '../../reports/src/chaos-summary.ts'
import type { RunSummary } from '../../reports/src/summary.ts'
import { type Evidence, latencyOf, percentile, round } from './evidence.ts'
import { healthValue } from './judge-proxy.ts'
import type { HealthSample, MockSample } from './observe.ts'
import { chaosMix } from './scenario.ts'
import { PROVIDERS } from './schema.ts'

export type SummaryInput = {
  readonly runId: string
  readonly evidence: Evidence
  readonly phases: ChaosPhaseResult[]
  readonly seed: number
  readonly command: string
  readonly targetUrl: string
  readonly startedAt: Date
  readonly endedAt: Date
  readonly durationS: number
  readonly environment: RunSummary['environment']
  readonly proxyOverrides: Record<string, unknown>
  readonly sendLagMs: ChaosSummary['generator']['send_lag_ms']
  /** Why the run broke, or null. */
  readonly broken: string | null
}

export function buildChaosSummary(input: SummaryInput): ChaosSummary {
  const { evidence: e } = input
  const s = e.scenario
  const failed = input.phases.flatMap((p) =>
    p.assertions.filter((a) => !a.passed).map((a) => `${p.name}: ${a.expected}`),
  )
  const status = input.broken ? 'broken' : failed.length ? 'failed' : 'passed'
  const errors: Record<string, number> = {}
  for (const r of e.records) if (!r.ok) errors[r.kind ?? 'error'] = (errors[r.kind ?? 'error'] ?? 0) + 1
  const dropped = errors.dropped ?? 0
  const lag = input.sendLagMs
  const notes = [
    lag.p99 > 50
      ? `sends left late (p99 ${lag.p99} ms): latencies count from the intended time, so nothing is hidden`
      : '',
    dropped
      ? `${dropped} arrivals found ${s.load.max_in_flight} requests in flight and were counted as failures`
      : '',
  ].filter(Boolean)
  return {
    schema_version: CHAOS_SCHEMA_VERSION,
    kind: 'chaos',
    status,
    ...(input.broken
      ? { status_reason: input.broken }
      : failed.length
        ? {
            status_reason: `${failed.length} assertion${failed.length > 1 ? 's' : ''} failed: ${failed.slice(0, 3).join('; ')}${failed.length > 3 ? '; ...' : ''}`,
          }
        : {}),
    run: {
      id: input.runId,
      scenario: s.name,
      description: s.description.trim(),
      started_at: input.startedAt.toISOString(),
      ended_at: input.endedAt.toISOString(),
      duration_s: round(input.durationS, 3),
      time_scale: s.scale,
      seed: input.seed,
      command: input.command,
      target_url: input.targetUrl,
      instances: s.proxy.instances,
      workers: s.proxy.workers,
      toxiproxy: s.toxiproxy,
      redis: s.redis,
    },
    environment: input.environment,
    load: {
      rate: s.load.rate,
      models: Array.isArray(s.load.model) ? [...s.load.model] : [s.load.model as string],
      stream_share: s.load.stream_share,
      mix: chaosMix(s.load).map((m) => ({ name: m.name, weight: round(m.weight, 4) })),
      timeout_s: s.load.timeout,
      max_in_flight: s.load.max_in_flight,
    },
    proxy_overrides: input.proxyOverrides,
    phases: input.phases,
    timeseries: { bucket_s: 1, points: timeseries(e) },
    upstream: upstreamRates(e.mocks),
    memory: dedupe(e.proc.map((p) => ({ t: p.t, rss_mb: round(p.rssMb, 1) }))),
    breakers: breakerSeries(e),
    health: healthSeries(e.health),
    events: e.events.map((ev) => ({ ...ev })),
    generator: { send_lag_ms: lag, dropped, ...(notes.length ? { note: notes.join('; ') } : {}) },
    errors_by_kind: errors,
  }
}

function timeseries(e: Evidence): ChaosSummary['timeseries']['points'] {
  const buckets = new Map<number, { n: number; ok: number; lat: number[] }>()
  for (const r of e.records) {
    const i = Math.floor(r.chargeMs / 1000)
    const b = buckets.get(i) ?? { n: 0, ok: 0, lat: [] }
    b.n++
    if (r.ok) {
      b.ok++
      b.lat.push(latencyOf(r))
    }
    buckets.set(i, b)
  }
  const last = Math.ceil(e.scenario.load.duration)
  const points: ChaosSummary['timeseries']['points'] = []
  for (let i = 0; i < last; i++) {
    const b = buckets.get(i) ?? { n: 0, ok: 0, lat: [] }
    const at = (p: number) => {
      const v = percentile(b.lat, p)
      return v === null ? null : round(v)
    }
    points.push({
      t: i + 1,
      requests: b.n,
      ok: b.ok,
      failed: b.n - b.ok,
      success_rate: b.n ? round(b.ok / b.n, 4) : null,
      p50_ms: at(50),
      p95_ms: at(95),
      p99_ms: at(99),
    })
  }
  return points
}

function upstreamRates(samples: readonly MockSample[]): ChaosSummary['upstream'] {
  const out: ChaosSummary['upstream'] = {}
  for (const provider of PROVIDERS) {
    const own = samples.filter((s) => s.provider === provider)
    const points: { t: number; rps: number }[] = []
    for (let i = 1; i < own.length; i++) {
      const dt = own[i].t - own[i - 1].t
      if (dt > 0)
        points.push({ t: own[i].t, rps: round(Math.max(0, own[i].total - own[i - 1].total) / dt, 2) })
    }
    out[provider] = dedupe(points)
  }
  return out
}

function breakerSeries(e: Evidence): ChaosSummary['breakers'] {
  const out: ChaosSummary['breakers'] = {}
  for (const sample of e.metrics) {
    for (const [provider, state] of Object.entries(sample.breakers ?? {})) {
      out[provider] ??= []
      const list = out[provider]
      if (list.length === 0 || sample.t > list[list.length - 1].t) list.push({ t: sample.t, state })
    }
  }
  return out
}

function healthSeries(samples: readonly HealthSample[]): ChaosSummary['health'] {
  const out: ChaosSummary['health'] = {}
  const push = (name: string, t: number, status: string) => {
    out[name] ??= []
    const list = out[name]
    if (list.length === 0 || t > list[list.length - 1].t) list.push({ t, status })
  }
  for (const s of samples) {
    push(s.endpoint, s.t, healthValue(s, {}))
    if (s.endpoint === '/health/providers')
      for (const provider of PROVIDERS) push(`${s.endpoint} ${provider}`, s.t, healthValue(s, { provider }))
  }
  return out
}

function dedupe<T extends { t: number }>(points: T[]): T[] {
  return points.filter((p, i) => i === 0 || p.t > points[i - 1].t)
}
