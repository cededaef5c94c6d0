// The phase assertions on synthetic evidence: each kind holds when the evidence satisfies it and fails
// when it does not (and when there is no evidence at all, which is never a pass).
import { describe, expect, it } from 'vitest'
import { chargeRequests, type Evidence, fewestToShow } from '../chaos/evidence.ts'
import { judge } from '../chaos/judge.ts'
import type { HealthSample, MetricsSample, ProcSample } from '../chaos/observe.ts'
import type { RequestRecord } from '../chaos/request.ts'
import { parseScenario } from '../chaos/scenario.ts'
import type { ChaosAssertion } from '../chaos/schema.ts'

const SCENARIO = parseScenario(
  `
description: synthetic
load: { rate: 10, duration: 30s, model: gpt-4o, timeout: 10s }
proxy: { workers: 2, instances: 2 }
phases:
  - { name: steady, start: 0s, end: 10s }
  - { name: fault, start: 10s, end: 20s, faults: [{ kind: rolling_restart }] }
  - { name: after, start: 20s, end: 30s }
`,
  'synthetic',
)
const [STEADY, FAULT, AFTER] = SCENARIO.phases

function req(startS: number, fields: Partial<RequestRecord> & { latencyMs?: number } = {}): RequestRecord {
  const { latencyMs = 100, ...rest } = fields
  const ok = rest.ok ?? true
  return {
    scenario: rest.stream ? 'chat-stream' : 'chat',
    stream: false,
    startMs: startS * 1000,
    endMs: startS * 1000 + latencyMs,
    status: 200,
    code: null,
    retryAfterS: null,
    ok,
    kind: ok ? null : 'http_503',
    silentCut: false,
    malformed: false,
    ttftMs: null,
    ...rest,
  }
}

/** `n` requests spread evenly over [fromS, toS), each shaped by `make(i)`. */
function spread(
  fromS: number,
  toS: number,
  n: number,
  make: (i: number) => Partial<RequestRecord> & { latencyMs?: number } = () => ({}),
) {
  return Array.from({ length: n }, (_, i) => req(fromS + ((toS - fromS) * i) / n, make(i)))
}

function evidence(
  parts: Partial<Omit<Evidence, 'scenario' | 'records'>> & { records?: RequestRecord[] } = {},
): Evidence {
  return {
    scenario: SCENARIO,
    records: chargeRequests(parts.records ?? [], SCENARIO),
    metrics: parts.metrics ?? [],
    health: parts.health ?? [],
    proc: parts.proc ?? [],
    mocks: parts.mocks ?? [],
    drains: parts.drains ?? [],
    kills: parts.kills ?? [],
    events: parts.events ?? [],
  }
}

const check = (a: ChaosAssertion, e: Evidence, phase = FAULT) => judge(a, phase, e)
const A = <T extends ChaosAssertion>(a: Partial<T> & { kind: T['kind'] }) =>
  ({ after: 0, ...a }) as unknown as ChaosAssertion

describe('chaos assertions', () => {
  it('success_rate: holds at the bound, fails below it and without requests', () => {
    const a = A({ kind: 'success_rate', min: 0.99 })
    const ok = spread(10, 20, 100, (i) => (i === 0 ? { ok: false } : {}))
    expect(check(a, evidence({ records: ok })).passed).toBe(true)
    const bad = spread(10, 20, 100, (i) => (i < 2 ? { ok: false } : {}))
    const v = check(a, evidence({ records: bad }))
    expect(v).toMatchObject({ passed: false })
    expect(v.actual).toContain('98 %')
    expect(v.actual).toContain('http_503 \u00d72')
    expect(check(a, evidence()).passed).toBe(false)
  })

  it('success_rate: a clean window too small to show the bound fails, saying how many could', () => {
    const a = A({ kind: 'success_rate', min: 0.99 })
    // One failure in 99 would be 98.99 %: 99 clean requests cannot show 99 %, 100 can.
    const few = check(a, evidence({ records: spread(10, 20, 99) }))
    expect(few).toMatchObject({ passed: false })
    expect(few.actual).toBe(
      '100 % (99 of 99), too few to show it: one failure would be 98.99 %; 100 or more can',
    )
    expect(check(a, evidence({ records: spread(10, 20, 100) })).passed).toBe(true)
    // Requests refused for retry do not count towards the evidence.
    const r = A({ kind: 'success_rate', min: 0.99, retryable: ['shutting_down'] })
    const refused = { ok: false, status: 503, code: 'shutting_down', latencyMs: 5 }
    expect(check(r, evidence({ records: spread(10, 20, 101, (i) => (i < 2 ? refused : {})) })).passed).toBe(
      false,
    )
    // Asserting that nothing fails needs no more than one request.
    expect(check(A({ kind: 'success_rate', min: 1 }), evidence({ records: spread(10, 20, 3) })).passed).toBe(
      true,
    )
  })

  it('fewestToShow: the fewest requests on which the bound survives one failure', () => {
    expect([0.9, 0.99, 0.995, 0.998, 0.999, 1].map(fewestToShow)).toEqual([10, 100, 200, 500, 1000, 1])
    expect(fewestToShow(0)).toBe(1)
  })

  it('success_rate: a failure counts against the faults that caused it', () => {
    const a = A({ kind: 'success_rate', min: 1 })
    // Began in the quiet phase, cut once the fault began: the fault's.
    const cutByFault = req(9.9, { ok: false, kind: 'stream_error', latencyMs: 500 })
    // Began under the fault, failed just after it ended: still the fault's.
    const failedUnderFault = req(19.9, { ok: false, kind: 'malformed_chunk', latencyMs: 500 })
    const records = [
      ...spread(0, 10, 50),
      cutByFault,
      ...spread(10, 20, 50),
      failedUnderFault,
      ...spread(20, 30, 50),
    ]
    expect(check(a, evidence({ records }), STEADY).passed).toBe(true)
    expect(check(a, evidence({ records }), FAULT).actual).toContain(
      '(50 of 52); malformed_chunk ×1, stream_error ×1',
    )
    expect(check(a, evidence({ records }), AFTER).passed).toBe(true)
  })

  it('success_rate: a fast refusal the client retries elsewhere is left out, a slow one is not', () => {
    const a = A({ kind: 'success_rate', min: 1, retryable: ['shutting_down'] })
    const refused = (ms: number) => ({ ok: false, status: 503, code: 'shutting_down', latencyMs: ms })
    const v = check(a, evidence({ records: spread(10, 20, 50, (i) => (i < 3 ? refused(5) : {})) }))
    expect(v).toMatchObject({ passed: true })
    expect(v.actual).toContain('3 refused for retry')
    expect(
      check(a, evidence({ records: spread(10, 20, 50, (i) => (i < 3 ? refused(3000) : {})) })).passed,
    ).toBe(false)
    const reset = spread(10, 20, 50, (i) => (i < 1 ? { ok: false, status: 0, kind: 'reset' } : {}))
    expect(check(a, evidence({ records: reset })).passed).toBe(false)
  })

  it('latency: an absolute bound and a bound relative to another phase', () => {
    const records = [
      ...spread(0, 10, 100, () => ({ latencyMs: 100 })),
      ...spread(10, 20, 100, (i) => ({ latencyMs: i < 98 ? 150 : 400 })),
    ]
    expect(
      check(A({ kind: 'latency', percentile: 95, max_ms: 200, of: 'success' }), evidence({ records })).passed,
    ).toBe(true)
    expect(
      check(A({ kind: 'latency', percentile: 99, max_ms: 200, of: 'success' }), evidence({ records })).passed,
    ).toBe(false)
    const rel = A({ kind: 'latency', percentile: 99, relative_to: 'steady', factor: 2, of: 'success' })
    const v = check(rel, evidence({ records }))
    expect(v).toMatchObject({ passed: false })
    expect(v.expected).toContain('2 \u00d7 p99 of steady (200 ms)')
  })

  it('latency: a window too small for its percentile fails, and so does a reference phase', () => {
    const p99 = A({ kind: 'latency', percentile: 99, max_ms: 200, of: 'success' })
    // 40 requests: their p99 is their largest, which misses the slowest 1 % most of the time.
    const few = check(p99, evidence({ records: spread(10, 20, 40) }))
    expect(few).toMatchObject({ passed: false })
    expect(few.actual).toBe(
      'p99 100 ms (n = 40): too few for a p99, which is then the largest of them (100 or more)',
    )
    expect(check(p99, evidence({ records: spread(10, 20, 100) })).passed).toBe(true)
    // A p95 can be read from 20.
    const p95 = A({ kind: 'latency', percentile: 95, max_ms: 200, of: 'success' })
    expect(check(p95, evidence({ records: spread(10, 20, 20) })).passed).toBe(true)
    expect(check(p95, evidence({ records: spread(10, 20, 19) })).passed).toBe(false)
    const rel = A({ kind: 'latency', percentile: 99, relative_to: 'steady', factor: 2, of: 'success' })
    const thinReference = [...spread(0, 10, 30), ...spread(10, 20, 100)]
    expect(check(rel, evidence({ records: thinReference })).actual).toBe(
      'steady has 30 such requests, too few for a p99 to compare with (100 or more)',
    )
    expect(check(rel, evidence({ records: [...spread(0, 10, 100), ...spread(10, 20, 100)] })).passed).toBe(
      true,
    )
  })

  it('latency of admitted requests leaves out shed answers', () => {
    const records = spread(10, 20, 200, (i) =>
      i % 2 ? { ok: false, status: 503, code: 'overloaded', latencyMs: 5000 } : { latencyMs: 100 },
    )
    expect(
      check(A({ kind: 'latency', percentile: 99, max_ms: 200, of: 'admitted' }), evidence({ records }))
        .passed,
    ).toBe(true)
    expect(
      check(A({ kind: 'latency', percentile: 99, max_ms: 200, of: 'all' }), evidence({ records })).passed,
    ).toBe(false)
  })

  it('retry_after: every answer with the status carries a Retry-After in range, fast enough', () => {
    const a = A({ kind: 'retry_after', status: [429], min_s: 2, within_ms: 1000, min_count: 1 })
    const good = spread(10, 20, 20, () => ({ ok: false, status: 429, retryAfterS: 2, latencyMs: 20 }))
    expect(check(a, evidence({ records: good })).passed).toBe(true)
    const missing = spread(10, 20, 20, (i) => ({
      ok: false,
      status: 429,
      retryAfterS: i ? 2 : null,
      latencyMs: 20,
    }))
    expect(check(a, evidence({ records: missing })).actual).toContain('1 without Retry-After')
    const short = spread(10, 20, 20, () => ({ ok: false, status: 429, retryAfterS: 1, latencyMs: 20 }))
    expect(check(a, evidence({ records: short })).passed).toBe(false)
    const slow = spread(10, 20, 20, (i) => ({
      ok: false,
      status: 429,
      retryAfterS: 2,
      latencyMs: i ? 20 : 6000,
    }))
    expect(check(a, evidence({ records: slow })).passed).toBe(false)
    expect(check(a, evidence({ records: spread(10, 20, 20) })).passed).toBe(false)
  })

  it('no_hang: fails on a request cut at the client deadline or slower than the bound', () => {
    expect(check(A({ kind: 'no_hang' }), evidence({ records: spread(10, 20, 10) })).passed).toBe(true)
    const hung = [...spread(10, 20, 10), req(12, { ok: false, kind: 'timeout', latencyMs: 10_000 })]
    expect(check(A({ kind: 'no_hang' }), evidence({ records: hung })).passed).toBe(false)
    const slow = [...spread(10, 20, 10), req(12, { latencyMs: 6000 })]
    expect(check(A({ kind: 'no_hang', max_s: 5 }), evidence({ records: slow })).passed).toBe(false)
  })

  it('streams_complete: an error event is a proper end, a silent cut is not', () => {
    const a = A({ kind: 'streams_complete' })
    const stream = { stream: true, scenario: 'chat-stream' as const }
    const errorEvents = spread(10, 20, 10, (i) => ({
      ...stream,
      ...(i < 3 ? { ok: false, kind: 'stream_error' } : {}),
    }))
    expect(check(a, evidence({ records: errorEvents })).passed).toBe(true)
    const cut = [...errorEvents, req(15, { ...stream, ok: false, kind: 'truncated_stream', silentCut: true })]
    const v = check(a, evidence({ records: cut }))
    expect(v.passed).toBe(false)
    expect(v.actual).toContain('1 cut silently')
    expect(check(a, evidence({ records: spread(10, 20, 5) })).passed).toBe(false)
  })

  it('no_malformed: fails when a malformed chunk or an unreadable body reached a client', () => {
    const a = A({ kind: 'no_malformed' })
    expect(check(a, evidence({ records: spread(10, 20, 10) })).passed).toBe(true)
    const forwarded = [
      ...spread(10, 20, 10),
      req(15, { stream: true, ok: false, kind: 'malformed_chunk', malformed: true }),
    ]
    expect(check(a, evidence({ records: forwarded })).actual).toContain('still ended with [DONE]')
    expect(
      check(
        a,
        evidence({ records: [...spread(10, 20, 10), req(15, { ok: false, kind: 'unreadable_body' })] }),
      ).passed,
    ).toBe(false)
  })

  it('shed: requires shed answers, fast ones', () => {
    const a = A({ kind: 'shed', max_ms: 50, percentile: 99, code: 'overloaded' })
    const shed = (ms: number) => ({ ok: false, status: 503, code: 'overloaded', latencyMs: ms })
    expect(check(a, evidence({ records: spread(10, 20, 50, (i) => (i % 2 ? shed(5) : {})) })).passed).toBe(
      true,
    )
    expect(check(a, evidence({ records: spread(10, 20, 50, (i) => (i % 2 ? shed(400) : {})) })).passed).toBe(
      false,
    )
    const queued = check(a, evidence({ records: spread(10, 20, 50, () => ({ latencyMs: 9000 })) }))
    expect(queued).toMatchObject({ passed: false })
    expect(queued.actual).toContain('nothing shed')
  })

  it('breaker: opens within N s of the fault, closes within M s of its end, or stays closed', () => {
    const timeline = (openAt: number, closeAt: number): MetricsSample[] =>
      Array.from({ length: 30 }, (_, i) => ({
        t: i + 0.5,
        breakers: { 'mock-openai': i + 0.5 >= openAt && i + 0.5 < closeAt ? 'open' : 'closed' },
      }))
    const a = A({ kind: 'breaker', provider: 'mock-openai', opens_within: 5, closes_within: 5 })
    expect(check(a, evidence({ metrics: timeline(13, 22) })).passed).toBe(true)
    expect(check(a, evidence({ metrics: timeline(17, 22) })).passed).toBe(false)
    expect(check(a, evidence({ metrics: timeline(13, 27) })).passed).toBe(false)
    const never = check(a, evidence({ metrics: timeline(99, 99) }))
    expect(never.actual).toContain('never opened')
    const closed = A({ kind: 'breaker', provider: 'mock-openai', stays_closed: true })
    expect(check(closed, evidence({ metrics: timeline(99, 99) })).passed).toBe(true)
    expect(check(closed, evidence({ metrics: timeline(15, 16) })).passed).toBe(false)
    expect(check(closed, evidence()).actual).toContain('not measured')
  })

  it('health: the share of polls that say what must be said, per provider, per check, with a word', () => {
    const poll = (
      t: number,
      body: unknown,
      endpoint: HealthSample['endpoint'] = '/health/providers',
    ): HealthSample => ({ t, endpoint, http: 200, body })
    const providers = (status: string) => ({ status: 'degraded', providers: { 'mock-openai': { status } } })
    const polls = Array.from({ length: 10 }, (_, i) =>
      poll(10.5 + i, providers(i < 8 ? 'unavailable' : 'ok')),
    )
    const a = A({
      kind: 'health',
      endpoint: '/health/providers',
      provider: 'mock-openai',
      status: ['unavailable'],
      share: 1,
    })
    expect(check(a, evidence({ health: polls })).passed).toBe(false)
    expect(check({ ...a, share: 0.8 } as ChaosAssertion, evidence({ health: polls })).passed).toBe(true)
    const cache = [poll(11, { status: 'degraded', checks: { cache: { status: 'degraded' } } }, '/health')]
    expect(
      check(
        A({ kind: 'health', endpoint: '/health', check: 'cache', status: ['degraded'], share: 1 }),
        evidence({ health: cache }),
      ).passed,
    ).toBe(true)
    const noWord = [poll(11, { status: 'degraded' }, '/health')]
    const saturated = A({
      kind: 'health',
      endpoint: '/health',
      status: ['degraded'],
      mentions: 'saturat',
      share: 1,
    })
    expect(check(saturated, evidence({ health: noWord })).passed).toBe(false)
    expect(
      check(
        saturated,
        evidence({
          health: [poll(11, { status: 'degraded', checks: { load: { saturated: true } } }, '/health')],
        }),
      ).passed,
    ).toBe(true)
    expect(
      check(a, evidence({ health: [{ t: 11, endpoint: '/health/providers', http: 0, body: null }] })).actual,
    ).toContain('no answer')
    const connected = A({
      kind: 'health',
      endpoint: '/health',
      check: 'cache',
      field: 'redis.connected',
      status: ['false'],
      share: 1,
    })
    const redis = (up: boolean) => [
      poll(11, { checks: { cache: { status: 'degraded', redis: { connected: up } } } }, '/health'),
    ]
    expect(check(connected, evidence({ health: redis(false) })).passed).toBe(true)
    expect(check(connected, evidence({ health: redis(true) })).actual).toContain('(true 1)')
  })

  it('memory: the largest RSS and the growth over the phase', () => {
    const proc = (values: number[]): ProcSample[] =>
      values.map((rssMb, i) => ({ t: 10 + i, rssMb, workers: [1, 2] }))
    const a = A({ kind: 'memory', max_rss_mb: 300, max_growth_mb: 50 })
    expect(check(a, evidence({ proc: proc([200, 220, 240]) })).passed).toBe(true)
    expect(check(a, evidence({ proc: proc([200, 260, 280]) })).passed).toBe(false)
    expect(check(a, evidence({ proc: proc([280, 310]) })).passed).toBe(false)
    expect(check(a, evidence()).passed).toBe(false)
  })

  it('metrics_truth: the proxy must count the failures its clients saw, however rare', () => {
    const failures = spread(10, 20, 100, (i) =>
      i % 10 === 0 ? { ok: false, status: 502, kind: 'http_502' } : {},
    )
    const metrics = (at10: number, at20: number): MetricsSample[] => [
      { t: 9.5, counters: { requests: 100, successes: 100, failures: at10, client_errors: 0 } },
      { t: 20.5, counters: { requests: 200, successes: 190, failures: at20, client_errors: 0 } },
    ]
    const a = A({ kind: 'metrics_truth', tolerance: 0.02 })
    expect(check(a, evidence({ records: failures, metrics: metrics(0, 10) })).passed).toBe(true)
    const blind = check(a, evidence({ records: failures, metrics: metrics(0, 0) }))
    expect(blind).toMatchObject({ passed: false })
    expect(blind.actual).toMatch(/proxy counted 0 failures, clients saw 8–10/)
    const silentMalformed = spread(10, 20, 100, (i) =>
      i % 10 === 0 ? { stream: true, ok: false, kind: 'malformed_chunk', malformed: true } : {},
    )
    expect(check(a, evidence({ records: silentMalformed, metrics: metrics(0, 0) })).passed).toBe(false)
    // Failures rarer than the tolerance are still failures to count: 2 in 100 requests.
    const rare = spread(10, 20, 100, (i) => (i === 40 || i === 60 ? { ok: false, status: 502 } : {}))
    expect(check(a, evidence({ records: rare, metrics: metrics(0, 0) })).actual).toBe(
      'proxy counted 0 failures, clients saw 2 (of 100 requests)',
    )
    expect(check(a, evidence({ records: rare, metrics: metrics(0, 0) })).passed).toBe(false)
    expect(check(a, evidence({ records: rare, metrics: metrics(0, 1) })).passed).toBe(false)
    expect(check(a, evidence({ records: rare, metrics: metrics(0, 2) })).passed).toBe(true)
    // Nor does the proxy get to count failures nobody saw.
    expect(check(a, evidence({ records: rare, metrics: metrics(0, 3) })).passed).toBe(false)
    // The tolerance is a share of the failures: 5 % of 100 seen is 95 to 105.
    const many = spread(12, 18, 100, () => ({ ok: false, status: 503 }))
    const loose = A({ kind: 'metrics_truth', tolerance: 0.05 })
    expect(check(loose, evidence({ records: many, metrics: metrics(0, 95) })).passed).toBe(true)
    expect(check(loose, evidence({ records: many, metrics: metrics(0, 94) })).passed).toBe(false)
    expect(check(loose, evidence({ records: many, metrics: metrics(0, 105) })).passed).toBe(true)
    expect(check(loose, evidence({ records: many, metrics: metrics(0, 106) })).passed).toBe(false)
  })

  it('drain: exit code and time from SIGTERM to exit', () => {
    const a = A({ kind: 'drain', exit_code: 0, within: 10 })
    const drain = (code: number | null, took: number) => [
      { phase: 'fault', instance: 'proxy-0', sigtermAtS: 12, exitedAtS: 12 + took, code, signal: null },
    ]
    expect(check(a, evidence({ drains: drain(0, 3) })).passed).toBe(true)
    expect(check(a, evidence({ drains: drain(1, 3) })).actual).toContain('exited 1')
    expect(check(a, evidence({ drains: drain(0, 12) })).passed).toBe(false)
    expect(check(a, evidence()).passed).toBe(false)
  })

  it('workers: back to full strength within N s of the kill', () => {
    const a = A({ kind: 'workers', count: 2, within: 3 })
    const kills = [{ t: 10.2, pids: [123] }]
    const proc = (back: number): ProcSample[] =>
      Array.from({ length: 10 }, (_, i) => ({
        t: 10.5 + i,
        rssMb: 100,
        workers: 10.5 + i >= back ? [124, 125] : [123, 124],
      }))
    expect(check(a, evidence({ kills, proc: proc(12) })).passed).toBe(true)
    expect(check(a, evidence({ kills, proc: proc(15) })).passed).toBe(false)
    expect(check(a, evidence({ proc: proc(12) })).actual).toContain('no worker was killed')
  })
})
