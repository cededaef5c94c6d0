// What the recorder makes of outcomes, on synthetic inputs: dropped arrivals are failed requests
// whose wait is in the latency; throughput after the ramp-up counts successes; streams are told apart
// by cache status; the proxy's own time and the upstream time are read from Server-Timing.
import { describe, expect, it } from 'vitest'
import { readAnswerHeaders } from '../engines/http-call.ts'
import type { EngineResult } from '../engines/plan.ts'
import { type Outcome, Recorder } from '../engines/recorder.ts'
import { seededRandom } from '../random.ts'
import { seedBaselines } from '../run/summary-build.ts'
import { getTier, loadTiers } from '../tiers.ts'

function recorder(steady = { from: 0, to: 60_000 }) {
  return new Recorder({
    bucketS: 1,
    samplesPerBucket: 500,
    random: seededRandom(1),
    scenarios: ['chat', 'chat-stream'],
    steadyWindowMs: steady,
    gauges: () => ({ activeUsers: 10, cpuPercent: 1 }),
  })
}

function ok(endMs: number, latencyMs: number, extra: Partial<Outcome> = {}): Outcome {
  return {
    scenario: 'chat',
    ok: true,
    kind: null,
    latencyMs,
    endMs,
    stream: null,
    proxyMs: Number.NaN,
    ...extra,
  }
}

function stream(ttftMs: number, cache: Outcome['cache']): Partial<Outcome> {
  return {
    scenario: 'chat-stream',
    cache,
    stream: { ttftMs, itlMs: [1, 1, 1], tokens: 4, truncated: false },
  }
}

describe('Recorder', () => {
  it('counts a dropped arrival as a failed request whose wait for a connection is in the latency', () => {
    const r = recorder()
    for (let t = 100; t < 1000; t += 100) r.record(ok(t, 5))
    // A stall: arrivals at 1.0-1.9 s find every connection busy; the first answer comes at 2.5 s.
    for (let t = 1000; t < 2000; t += 100) r.drop(t)
    r.record(ok(2500, 1500))
    r.finish(3000)
    const s = r.summary(3)
    expect(r.dropped).toBe(10)
    expect(s).toMatchObject({ requests: 20, errors: 10, errorsByKind: { dropped: 10 } })
    // Without the dropped arrivals p95 would read 5 ms: nine of ten answers took 5 ms.
    expect(s.latency_ms?.p95).toBeGreaterThanOrEqual(1400)
    expect(s.latency_ms?.max).toBeGreaterThanOrEqual(1500)
    expect(s.latencyAtTargetMs).toBeGreaterThanOrEqual(1400)
    // When: the time series says in which second they were dropped.
    expect(s.ticks.map((t) => t.dropped)).toEqual([0, 10, 0])
    expect(s.ticks[1]).toMatchObject({ requests: 10, errors: 10, error_rate: 1 })
    // The CI gate's samples carry the waits too.
    expect(s.samples.flat()).toContain(1500)
  })

  it('gives a dropped arrival at least its time to the end of the run when no connection freed up', () => {
    const r = recorder()
    r.drop(1000)
    r.drop(4000)
    r.finish(10_000)
    const s = r.summary(10)
    expect(s.latency_ms?.max).toBeCloseTo(9000, -1)
    expect(s.latency_ms?.min).toBeCloseTo(6000, -1)
  })

  it('keeps a failure that took time in the latency at the time it took: 9 % timeouts at 30 s fail p95', () => {
    // extreme: p95 below 1000 ms, errors below 10 %. Nine requests in a hundred hang until the client's
    // 30 s timeout, the rest take 5 ms.
    const extreme = getTier(loadTiers(), 'extreme')
    const outcomes = Array.from({ length: 2000 }, (_, i): Outcome => {
      const slow = i % 100 < 9
      const latencyMs = slow ? 30_000 : 5
      return { ...ok(i * 5 + latencyMs, latencyMs), ok: !slow, kind: slow ? 'timeout' : null }
    })
    const r = recorder()
    for (const o of outcomes.sort((a, b) => a.endMs - b.endMs)) r.record(o)
    r.finish(40_000)
    const s = r.summary(40)
    expect(s.errorsByKind).toEqual({ timeout: 180 })
    expect(s.latencyAtTargetMs).toBeGreaterThanOrEqual(30_000)
    expect(s.latency_ms?.p50).toBe(5)
    expect(s.samples.flat()).toContain(30_000)
    const [latency, errorRate] = seedBaselines(extreme, { ...s, ticks: [] } as unknown as EngineResult)
    expect([latency.passed, errorRate.passed]).toEqual([false, true])
    // A scenario's latency is still its answers'.
    expect(s.scenarios.find((x) => x.name === 'chat')?.latency_ms?.p95).toBe(5)
  })

  it('leaves out failures faster than the median answer: load shed in 1 ms does not improve p95', () => {
    const answers = (r: Recorder) => {
      for (let i = 1; i <= 200; i++) r.record(ok(i * 10, i / 2)) // 0.5 to 100 ms
    }
    const alone = recorder()
    answers(alone)
    alone.finish(3000)
    const shed = recorder()
    answers(shed)
    for (let i = 0; i < 50; i++) shed.record({ ...ok(2000 + i, 1), ok: false, kind: 'http_503' })
    shed.finish(3000)
    const { latencyAtTargetMs, latency_ms } = shed.summary(3)
    expect(latencyAtTargetMs).toBe(alone.summary(3).latencyAtTargetMs)
    expect(latency_ms).toEqual(alone.summary(3).latency_ms)
    // Counted at their own 1 ms, the 50 shed would have moved p95 down to the 188th answer, 94 ms.
    expect(latencyAtTargetMs).toBeCloseTo(95, 0)
  })

  it('counts only successful requests after the ramp-up as throughput', () => {
    const r = recorder({ from: 10_000, to: 20_000 })
    for (let t = 1000; t < 20_000; t += 100) r.record(ok(t, 5))
    for (let t = 10_050; t < 20_000; t += 100) r.record({ ...ok(t, 5), ok: false, kind: 'http_503' })
    r.finish(20_000)
    // 100 successes and 100 failures in the 10 s after the ramp-up: 10 req/s, not 20.
    expect(r.summary(10).steadyRps).toBe(10)
  })

  it('tells cache replays from generated streams, and keeps replays out of the TTFT time series', () => {
    const r = recorder()
    for (let i = 0; i < 10; i++) r.record(ok(100 + i, 3, stream(0.4, 'hit')))
    for (let i = 0; i < 5; i++) r.record(ok(200 + i, 40, stream(30, 'miss')))
    r.record(ok(300, 45, stream(35, 'bypass')))
    r.finish(1000)
    const s = r.summary(1)
    expect(s.stream?.streams).toBe(16)
    expect(s.stream_by_cache?.hit?.streams).toBe(10)
    expect(s.stream_by_cache?.hit?.ttft_ms?.p50).toBeCloseTo(0.4, 2)
    expect(s.stream_by_cache?.miss?.streams).toBe(5)
    expect(s.stream_by_cache?.miss?.ttft_ms?.p50).toBeCloseTo(30, 0)
    expect(s.stream_by_cache?.bypass?.streams).toBe(1)
    expect(s.scenarios.find((x) => x.name === 'chat-stream')?.stream_by_cache?.hit?.streams).toBe(10)
    expect(s.ticks[0].ttft_p50_ms).toBe(30)
  })

  it("reports the proxy's own time and the upstream time from Server-Timing", () => {
    const r = recorder()
    for (let i = 1; i <= 100; i++) {
      r.record(
        ok(
          i,
          4 + i / 100,
          readAnswerHeaders({ 'server-timing': `proxy;dur=0.${i % 10}5, upstream;dur=3.00` }),
        ),
      )
    }
    r.record(
      ok(
        200,
        1,
        readAnswerHeaders({ 'x-cache': 'HIT', 'server-timing': 'proxy;dur=0.90, upstream;dur=0.00' }),
      ),
    )
    r.finish(1000)
    expect(r.summary(1).serverTiming).toMatchObject({
      requests: 101,
      proxy_ms: { p50: 0.55, p95: 0.95 },
      upstream_ms: { p50: 3, p95: 3 },
    })
  })
})

describe('readAnswerHeaders', () => {
  it('reads proxy and upstream durations and the cache status', () => {
    expect(
      readAnswerHeaders({
        'server-timing': 'proxy;dur=0.31, upstream;dur=2.05, retry-wait;dur=1',
        'x-cache': 'MISS',
      }),
    ).toEqual({ proxyMs: 0.31, upstreamMs: 2.05, cache: 'miss' })
    expect(readAnswerHeaders({ 'x-cache': 'HIT' })).toMatchObject({ cache: 'hit', proxyMs: Number.NaN })
    expect(readAnswerHeaders({})).toMatchObject({ cache: 'none', upstreamMs: Number.NaN })
  })
})
