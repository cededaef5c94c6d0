// Chaos summaries for the chaos report's tests: a run of three phases (steady, an outage, recovery)
// with per-second series, breaker and health timelines and events; a failed variant; a hostile one.
import type { ChaosSummary } from '../src/chaos-summary.ts'
import { random, round } from './fixture-kit.ts'
import { INJECTED } from './hostile.ts'

export const CHAOS_CHART_NAMES = [
  'chaos-requests',
  'chaos-success',
  'chaos-latency',
  'chaos-upstream',
  'chaos-memory',
]

const PHASES = [
  { name: 'steady', start: 0, end: 15, faults: [] as string[] },
  { name: 'outage', start: 15, end: 35, faults: ['mock-openai: mock status 100 % (status 503)'] },
  { name: 'recovery', start: 35, end: 60, faults: [] as string[] },
]

export function chaosSummary(): ChaosSummary {
  const rand = random(11)
  const phaseOf = (t: number) => PHASES.find((p) => t > p.start && t <= p.end)!
  const points = Array.from({ length: 60 }, (_, i) => {
    const t = i + 1
    const inOutage = phaseOf(t).name === 'outage'
    const requests = 20
    const failed = inOutage && t < 20 ? 1 : 0
    const p50 = round((inOutage ? 320 : 250) + rand() * 30)
    return {
      t,
      requests,
      ok: requests - failed,
      failed,
      success_rate: round((requests - failed) / requests, 4),
      p50_ms: p50,
      p95_ms: round(p50 * 1.4),
      p99_ms: round(p50 * 1.7),
    }
  })
  const state = (t: number) =>
    (t >= 19 && t < 38 ? (t >= 36 ? 'half_open' : 'open') : 'closed') as 'open' | 'closed' | 'half_open'
  const health = (t: number) => (t >= 19 && t < 38 ? 'unavailable' : 'ok')
  const times = Array.from({ length: 60 }, (_, i) => i + 0.5)
  return {
    schema_version: 1,
    kind: 'chaos',
    status: 'passed',
    run: {
      id: '20261130-120000-chaos-outage-fallback-ab12',
      scenario: 'outage-fallback',
      description: 'mock-openai answers 503 for 20 s; gpt-4o fails over to mock-anthropic.',
      started_at: '2026-11-30T12:00:00.000Z',
      ended_at: '2026-11-30T12:01:05.000Z',
      duration_s: 65,
      time_scale: 1,
      seed: 42,
      command: 'npm run chaos -- outage-fallback',
      target_url: 'http://127.0.0.1:41234',
      instances: 1,
      workers: 1,
      toxiproxy: true,
      redis: false,
    },
    environment: {
      node_version: 'v24.21.0',
      os: 'Linux 6.18.44',
      arch: 'x64',
      cpu_model: 'AMD EPYC',
      cpu_count: 2,
      total_memory_mb: 7936,
      git_commit: 'e8ef3d21f3ac0c5474721b0a9',
    },
    load: {
      rate: 20,
      models: ['gpt-4o'],
      stream_share: 0.3,
      mix: [
        { name: 'chat', weight: 0.7 },
        { name: 'chat-stream', weight: 0.3 },
      ],
      timeout_s: 15,
      max_in_flight: 2000,
    },
    proxy_overrides: { caching: { enabled: false }, circuit_breaker: { recovery_timeout: 3 } },
    phases: PHASES.map((p) => ({
      name: p.name,
      start_s: p.start,
      end_s: p.end,
      rate: 20,
      faults: p.faults,
      stats: {
        requests: (p.end - p.start) * 20,
        ok: (p.end - p.start) * 20 - (p.name === 'outage' ? 4 : 0),
        success_rate: p.name === 'outage' ? 0.99 : 1,
        latency_ms: { p50: 260, p95: 380, p99: 450, max: 820 },
        shed: 0,
        upstream_attempts: (p.end - p.start) * 20 + (p.name === 'outage' ? 60 : 0),
        upstream_failed: p.name === 'outage' ? 64 : 0,
        errors_by_kind: (p.name === 'outage' ? { http_503: 4 } : {}) as Record<string, number>,
      },
      assertions: [
        {
          kind: 'success_rate',
          expected: 'success rate \u2265 99 %',
          actual: '99 % (396 of 400)',
          passed: true,
        },
        ...(p.name === 'outage'
          ? [
              {
                kind: 'breaker',
                expected:
                  'breaker of mock-openai opens within 8 s of the fault, closed within 15 s of its end',
                actual: 'open at +4 s; closed at +3 s after the end',
                passed: true,
              },
            ]
          : []),
      ],
    })),
    timeseries: { bucket_s: 1, points },
    upstream: {
      'mock-openai': times.map((t) => ({ t, rps: state(t) === 'open' ? 0 : 20 })),
      'mock-anthropic': times.map((t) => ({ t, rps: state(t) === 'open' ? 20 : 0 })),
    },
    memory: times.map((t) => ({ t, rss_mb: round(150 + t * 0.4 + rand() * 3) })),
    breakers: {
      'mock-openai': times.map((t) => ({ t, state: state(t) })),
      'mock-anthropic': times.map((t) => ({ t, state: 'closed' as const })),
    },
    health: {
      '/health': times.map((t) => ({ t, status: health(t) === 'ok' ? 'ok' : 'degraded' })),
      '/health/providers mock-openai': times.map((t) => ({ t, status: health(t) })),
    },
    events: [
      { t: 0, kind: 'note', text: 'phase steady begins' },
      { t: 15, kind: 'fault', text: 'mock-openai: mock status 100 % (status 503)' },
      { t: 35, kind: 'fault', text: 'mock-openai: back to its start-up profile' },
    ],
    generator: { send_lag_ms: { p50: 0.4, p99: 2.1, max: 9 }, dropped: 0 },
    errors_by_kind: { http_503: 4 },
  }
}

export function failedChaosSummary(): ChaosSummary {
  const s = chaosSummary()
  s.status = 'failed'
  s.status_reason = '1 assertion failed: outage: breaker of mock-openai opens within 8 s'
  s.phases[1].assertions[1] = { ...s.phases[1].assertions[1], actual: 'never opened', passed: false }
  return s
}

/** Markup in every free-text field of a chaos summary. */
export function hostileChaosSummary(): ChaosSummary {
  const s = failedChaosSummary()
  const { name, kind, text } = INJECTED
  s.status_reason = text
  s.run.description = name
  s.run.scenario = name
  s.run.command = text
  s.phases[0].name = name
  s.phases[1].faults = [name]
  s.phases[1].assertions[0] = { kind, expected: name, actual: text, passed: false }
  s.events = [{ t: 1, kind: 'fault', text: name }]
  s.errors_by_kind = { [kind]: 2 }
  s.health = { [name]: [{ t: 1, status: kind }] }
  s.breakers = { [name]: [{ t: 1, state: 'open' }] }
  s.upstream = { [name]: [{ t: 1, rps: 1 }] }
  s.proxy_overrides = { [name]: text }
  return s
}
