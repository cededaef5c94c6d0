import { describe, expect, it } from 'vitest'
import { modelLabels, PromMetrics } from '../src/observability/metrics.ts'
import type { RequestOutcome } from '../src/observability/observer.ts'
import { RequestStats, statsSections } from '../src/observability/request-stats.ts'
import { mergeWindows, SlidingWindow } from '../src/observability/window.ts'

const outcome = (over: Partial<RequestOutcome> = {}): RequestOutcome => ({
  requestId: 'r',
  route: 'chat',
  model: 'gpt-4o-mini',
  provider: 'a',
  status: 200,
  stream: false,
  durationMs: 100,
  upstreamMs: 70,
  waitMs: 20,
  attempts: 1,
  cache: 'MISS',
  ttftMs: undefined,
  usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
  errorCode: undefined,
  truncated: false,
  aborted: false,
  ...over,
})

const labels = {
  models: modelLabels({ 'gpt-4o-mini': { aliases: ['mini'] } }),
  providers: ['a'],
}

describe('Prometheus metrics', () => {
  it('records overhead as duration minus upstream and retry waits, in seconds', async () => {
    const m = new PromMetrics(labels, { defaultMetrics: false })
    m.request(outcome())
    const text = await m.registry.metrics()
    expect(text).toContain('llm_proxy_overhead_seconds_sum{route="chat",stream="false"} 0.01')
    expect(text).toContain(
      'llm_proxy_request_duration_seconds_sum{route="chat",model="gpt-4o-mini",stream="false"} 0.1',
    )
    expect(text).toContain('llm_proxy_tokens_total{provider="a",kind="prompt"} 3')
  })

  it('keeps labels bounded: aliases under their model, unknown models and providers as other', async () => {
    const m = new PromMetrics(labels, { defaultMetrics: false })
    m.request(outcome({ model: 'mini' }))
    for (let i = 0; i < 50; i++) m.request(outcome({ model: `random-${i}`, provider: `p${i}` }))
    for (let i = 0; i < 40; i++) m.request(outcome({ route: `route-${i}` }))
    const series = (await m.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith('llm_proxy_requests_total{'))
    expect(series).toContain(
      'llm_proxy_requests_total{route="chat",model="gpt-4o-mini",provider="a",status="200"} 1',
    )
    expect(series).toContain(
      'llm_proxy_requests_total{route="chat",model="other",provider="other",status="200"} 50',
    )
    expect(series.length).toBeLessThanOrEqual(18)
  })

  it('counts failures: 5xx, 429 and streams cut after they started, not client errors or aborts', async () => {
    const m = new PromMetrics(labels, { defaultMetrics: false })
    m.request(outcome({ status: 502 }))
    m.request(outcome({ status: 429 }))
    m.request(outcome({ truncated: true }))
    m.request(outcome({ status: 400 }))
    m.request(outcome({ truncated: true, aborted: true }))
    expect(await m.registry.metrics()).toContain('llm_proxy_request_failures_total{route="chat"} 3')
  })
})

describe('sliding windows', () => {
  it('forget what is older than the window, slot by slot', () => {
    let now = 0
    const w = new SlidingWindow(60_000, () => now)
    w.record(10, false)
    w.record(20, true)
    now = 30_000
    w.record(30, false)
    expect(w.figures()).toMatchObject({ requests: 3, failures: 1, error_rate: 0.3333, avg_ms: 20 })
    now = 65_000
    expect(w.figures()).toMatchObject({ requests: 1, failures: 0 })
    expect(w.figures().p50_ms).toBeCloseTo(30, 0)
    now = 200_000
    expect(w.figures()).toMatchObject({ requests: 0, error_rate: 0, p50_ms: null })
  })

  it('merge across processes with exact counts and 1 % percentiles', () => {
    const a = new SlidingWindow(60_000, () => 0)
    const b = new SlidingWindow(60_000, () => 0)
    for (let i = 1; i <= 100; i++) (i % 2 ? a : b).record(i, i > 95)
    const merged = mergeWindows([a.export(), b.export()])
    expect(merged).toMatchObject({ requests: 100, failures: 5, error_rate: 0.05, avg_ms: 50.5 })
    expect(merged.p50_ms).toBeCloseTo(50, -0.5)
    expect(merged.p99_ms).toBeCloseTo(99, -0.5)
  })

  it('add up request stats of several workers into one JSON section', () => {
    const workers = [0, 1].map(() => new RequestStats(['a'], { now: () => 0 }))
    workers[0].request(outcome())
    workers[1].request(outcome({ status: 503 }))
    workers[1].attempt({ provider: 'a', durationMs: 5, outcome: 'ok', status: 200 })
    const s = statsSections(workers.map((w) => w.export()))
    expect(s.requests).toMatchObject({ requests: 2, successes: 1, failures: 1, error_rate: 0.5 })
    expect(s.http_client).toMatchObject({ requests: 1, successes: 1 })
    expect(s.providers.a).toMatchObject({ tokens: { prompt: 6, completion: 10, total: 16 } })
  })
})
