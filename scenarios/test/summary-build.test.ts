import { describe, expect, it } from 'vitest'
import { parseSummary } from '../../reports/src/summary.ts'
import type { EngineResult } from '../engines/plan.ts'
import { capacityVerdict, type GeneratorCapacity } from '../run/generator-capacity.ts'
import { parseMetrics } from '../run/proxy-metrics.ts'
import { buildSummary, type SummaryInput } from '../run/summary-build.ts'
import { getTier, loadTiers } from '../tiers.ts'

const light = getTier(loadTiers(), 'light')

function result(overrides: Partial<EngineResult> = {}): EngineResult {
  return {
    engine: 'native',
    engineVersion: 'native (undici 8)',
    loadModel: 'open',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:05:00.000Z',
    durationS: 300,
    requests: 1500,
    errors: 3,
    latency_ms: { min: 1, mean: 5, p50: 4, p90: 8, p95: 10, p99: 20, max: 50 },
    latencyAtTargetMs: 10,
    scenarios: [
      {
        name: 'chat',
        requests: 1500,
        errors: 3,
        latency_ms: { min: 1, mean: 5, p50: 4, p90: 8, p95: 10, p99: 20, max: 50 },
      },
    ],
    ticks: [],
    histogram: [{ le_ms: 10, count: 1497 }],
    errorsByKind: { http_502: 3 },
    droppedIterations: 0,
    sendLagMs: { p50: 0.1, p99: 2, max: 5 },
    steadyRps: 5,
    intendedRps: 5,
    cpu: { mean: 2, max: 8 },
    samples: [],
    notes: [],
    ...overrides,
  }
}

function input(overrides: Partial<SummaryInput> = {}): SummaryInput {
  return {
    runId: 'r1',
    tier: light,
    durationScale: 1,
    engine: 'native',
    loadModel: 'open',
    seed: 42,
    targetUrl: 'http://127.0.0.1:9999',
    mockProfile: 'baseline',
    command: 'npm run load:light',
    startedAt: new Date('2026-01-01T00:00:00Z'),
    endedAt: new Date('2026-01-01T00:05:01Z'),
    environment: {
      node_version: 'v24',
      os: 'Linux',
      cpu_model: 'cpu',
      cpu_count: 2,
      total_memory_mb: 1000,
      git_commit: null,
    },
    sharedHost: true,
    result: result(),
    mix: light.scenarios,
    skipped: new Map(),
    broken: null,
    capacity: null,
    ...overrides,
  }
}

const capacity: GeneratorCapacity = {
  measured_at: '2026-01-01T00:00:00.000Z',
  cpu_model: 'cpu',
  cpu_count: 2,
  node_version: 'v24',
  pinned: true,
  scenario: 'chat',
  duration_s: 10,
  engines: {
    native: {
      engine: 'native',
      target: 'plain',
      connections: 32,
      rps: 1000,
      cpu_percent: 100,
      rps_per_core: 1000,
      p50_ms: 1,
      errors: 0,
    },
    autocannon: {
      engine: 'autocannon',
      target: 'plain',
      connections: 32,
      rps: 2000,
      cpu_percent: 100,
      rps_per_core: 2000,
      p50_ms: 1,
      errors: 0,
    },
  },
  runs: [],
}

describe('buildSummary', () => {
  it('judges the seed baselines of the tier and passes a healthy run', () => {
    const summary = parseSummary(buildSummary(input()))
    expect(summary.status).toBe('passed')
    expect(summary.baselines.map((b) => [b.metric, b.threshold, b.actual, b.passed])).toEqual([
      ['latency_p95_ms', 200, 10, true],
      ['error_rate', 0.01, 0.002, true],
      ['rps_after_ramp_up', 4.5, 5, true],
    ])
  })

  it('fails on a baseline and says which, in one line', () => {
    const summary = parseSummary(
      buildSummary(input({ result: result({ latencyAtTargetMs: 250, steadyRps: 3 }) })),
    )
    expect(summary.status).toBe('failed')
    expect(summary.status_reason).toBe('latency_p95_ms 250 vs < 200; rps_after_ramp_up 3 vs >= 4.5')
  })

  it('writes a broken run without engine results, every baseline unmeasured', () => {
    const summary = parseSummary(buildSummary(input({ result: null, broken: 'proxy exited' })))
    expect(summary).toMatchObject({
      status: 'broken',
      status_reason: 'proxy exited',
      totals: { requests: 0 },
    })
    expect(summary.baselines.every((b) => b.actual === null && !b.passed)).toBe(true)
  })

  it('shows a skipped scenario with its reason and weight 0, never as passing', () => {
    const reason = 'POST /v1/context/condense answered 404'
    const summary = parseSummary(buildSummary(input({ skipped: new Map([['condense', reason]]) })))
    expect(summary.scenarios.find((s) => s.name === 'condense')).toEqual({
      name: 'condense',
      weight: 0,
      requests: 0,
      errors: 0,
      error_rate: 0,
      rps: 0,
      skipped: { reason },
    })
  })

  it('calls the generator the limit when its CPU was saturated or it sent late, not when the target dropped arrivals', () => {
    const busy = parseSummary(buildSummary(input({ result: result({ cpu: { mean: 95, max: 100 } }) })))
    expect(busy.generator).toMatchObject({ limited: true, note: expect.stringMatching(/CPU averaged 95 %/) })
    const late = parseSummary(
      buildSummary(input({ result: result({ sendLagMs: { p50: 30, p99: 120, max: 300 } }) })),
    )
    expect(late.generator?.limited).toBe(true)
    const slowTarget = parseSummary(buildSummary(input({ result: result({ droppedIterations: 40 }) })))
    expect(slowTarget.generator?.limited).toBe(false)
    expect(slowTarget.environment.generator_notes).toContainEqual(
      expect.stringMatching(/^40 arrivals were dropped/),
    )
  })

  it('uses the measured generator ceiling: near it, the generator may be the limit', () => {
    const near = parseSummary(buildSummary(input({ capacity, result: result({ steadyRps: 900 }) })))
    expect(near.generator?.limited).toBe(true)
    expect(near.environment.generator_notes).toContainEqual(
      expect.stringMatching(/at most ~1000 req\/s on one core .* 90\.0 %/),
    )
    expect(capacityVerdict(capacity, 'autocannon', 100, 'other cpu')).toMatchObject({
      near: false,
      note: expect.stringMatching(/another machine \(cpu\)/),
    })
  })
})

describe('parseMetrics', () => {
  it('reads memory, cache hit rate and breaker states when present', () => {
    expect(
      parseMetrics(
        {
          memory: { rss_mb: 120.5, heap_used_mb: 40 },
          cache: { hit_rate: 0.42 },
          circuit_breakers: {
            a: { state: 'HALF_OPEN' },
            b: { state: 'closed' },
            c: 'half-open',
            d: { state: 'weird' },
          },
        },
        3,
      ),
    ).toEqual({
      t: 3,
      rss_mb: 120.5,
      heap_used_mb: 40,
      cache_hit_rate: 0.42,
      breakers: { a: 'half_open', b: 'closed', c: 'half_open' },
    })
  })

  it('leaves out what is missing or out of range', () => {
    expect(parseMetrics({ memory: { rss_mb: 'lots' }, cache: { hit_rate: 42 } }, 1)).toEqual({ t: 1 })
    expect(parseMetrics(null, 2)).toEqual({ t: 2 })
  })
})
