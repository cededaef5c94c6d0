import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_KEY, CLIENT_KEY, chatBody, type Harness, postChat, sseData, startAll } from './helpers.ts'

// Each of the guide's troubleshooting commands, against a live proxy after some traffic: the
// fields the operator's question needs are there, with sane values.

const fast = { latency: { ttft: 0, itl: 0 } }
const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init)
  return { status: res.status, body: await res.json() }
}
const admin = { authorization: `Bearer ${ADMIN_KEY}` }

describe('GET /metrics and /health after traffic', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startAll({ profile: fast })
    for (let i = 0; i < 6; i++)
      expect((await postChat(h.url, chatBody({ max_tokens: 10 + i }))).status).toBe(200)
    const stream = await postChat(h.url, chatBody({ model: 'haiku', stream: true }))
    expect((await sseData(stream)).at(-1)).toBe('[DONE]')
  })
  afterAll(() => h.close())

  it("curl /metrics | jq '.http_client': requests, successes, failures, percentiles, error rate", async () => {
    const { status, body } = await json(`${h.url}/metrics`)
    expect(status).toBe(200)
    const c = body.http_client
    expect(c.requests).toBeGreaterThanOrEqual(7)
    expect(c.successes).toBe(c.requests)
    expect(c.failures).toBe(0)
    expect(c.error_rate).toBe(0)
    expect(c.window_seconds).toBe(60)
    expect(c.p50_response_time_ms).toBeGreaterThan(0)
    expect(c.p50_response_time_ms).toBeLessThanOrEqual(c.p95_response_time_ms)
    expect(c.p95_response_time_ms).toBeLessThanOrEqual(c.p99_response_time_ms)
    expect(c.average_response_time_ms).toBeGreaterThan(0)
    const r = body.requests
    expect(r.requests).toBe(7)
    expect(r.streams).toBe(1)
    expect(r.time_to_first_token_ms.p50).toBeGreaterThan(0)
    expect(r.overhead_ms.p50).toBeGreaterThanOrEqual(0)
    expect(r.overhead_ms.p50).toBeLessThanOrEqual(r.p50_response_time_ms)
    expect(r.requests_per_second).toBeGreaterThan(0)
  })

  it("curl /metrics | jq '.cache': the cache figures, hit_rate at its path", async () => {
    const { body } = await json(`${h.url}/metrics`)
    expect(body.cache.enabled).toBe(true)
    expect(body.cache.hit_rate).toBeGreaterThanOrEqual(0)
    expect(body.cache.hit_rate).toBeLessThanOrEqual(1)
  })

  it("curl /metrics | jq '.connection_pool': active, idle, pending per provider against the limits", async () => {
    const { body } = await json(`${h.url}/metrics`)
    const pool = body.connection_pool['openai-a']
    expect(pool).toMatchObject({ max_connections: 100, max_keepalive_connections: 30, pending: 0, active: 0 })
    expect(pool.idle).toBeGreaterThanOrEqual(1)
    expect(pool.idle_over_keepalive_limit).toBe(false)
    expect(Object.keys(body.connection_pool).sort()).toEqual(['anthropic-a', 'openai-a'])
  })

  it('reports providers, breakers, memory and system sections', async () => {
    const { body } = await json(`${h.url}/metrics`)
    expect(body.providers['openai-a'].tokens.prompt).toBeGreaterThan(0)
    expect(body.providers['openai-a'].tokens.completion).toBeGreaterThan(0)
    expect(body.providers['anthropic-a'].requests).toBe(1)
    expect(body.providers['openai-a'].latency_ms.p95).toBeGreaterThan(0)
    expect(body.circuit_breakers['openai-a'].state).toBe('closed')
    expect(body.memory.rss_mb).toBeGreaterThan(body.memory.heap_used_mb)
    expect(body.memory.heap_used_mb).toBeGreaterThan(0)
    expect(['heap', 'cgroup']).toContain(body.memory.limit_source)
    expect(body.memory.usage_percent).toBeGreaterThan(0)
    expect(body.memory.usage_percent).toBeLessThan(100)
    const s = body.system
    expect(s.cpu.cores).toBeGreaterThan(0)
    expect(s.event_loop.utilization).toBeGreaterThanOrEqual(0)
    expect(s.event_loop.utilization).toBeLessThanOrEqual(1)
    expect(s.disk.total_mb).toBeGreaterThan(0)
    expect(s.handles.active_resources).toBeGreaterThan(0)
    expect(s.load_average).toHaveLength(3)
  })

  it("curl /health | jq '.checks.memory': usage against the limit, with the thresholds", async () => {
    const { status, body } = await json(`${h.url}/health`)
    expect(status).toBe(200)
    expect(body.status).toBe('ok')
    expect(body.checks.memory).toMatchObject({
      status: 'ok',
      thresholds: { gc_percent: 80, max_percent: 85 },
    })
    expect(body.checks.memory.usage_percent).toBeGreaterThan(0)
    expect(body.checks.providers).toMatchObject({ status: 'ok', available: 2, total: 2 })
    expect(body.checks.cache.status).toBe('ok')
  })

  it('GET /health/detailed: uptime, version, a config digest and no secret', async () => {
    const res = await fetch(`${h.url}/health/detailed`)
    const text = await res.text()
    const body = JSON.parse(text)
    expect(res.status).toBe(200)
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(body.config.digest).toMatch(/^sha256:[0-9a-f]{16}$/)
    expect(body.uptime_seconds).toBeGreaterThanOrEqual(0)
    expect(body.providers['openai-a'].breaker.state).toBe('closed')
    for (const secret of ['sk-provider-secret', 'sk-ant-provider-secret', CLIENT_KEY, ADMIN_KEY])
      expect(text).not.toContain(secret)
  })

  it('GET /health/providers: breaker, recent latency and error rate per provider', async () => {
    const { status, body } = await json(`${h.url}/health/providers`)
    expect(status).toBe(200)
    const p = body.providers['openai-a']
    expect(p.breaker.state).toBe('closed')
    expect(p.recent.requests).toBeGreaterThanOrEqual(6)
    expect(p.recent.error_rate).toBe(0)
    expect(p.recent.latency_ms.p50).toBeGreaterThan(0)
    expect(p.recent.latency_ms.p95).toBeGreaterThanOrEqual(p.recent.latency_ms.p50)
    expect(p.last_error).toBeNull()
    expect(p.admission).toMatchObject({ in_flight: 0, queued: 0, throttling: false, limit: 100 })
  })
})

describe('health under failure', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('shows the last error and error rate, then 503 once no provider can take a call', async () => {
    h = await startAll({
      profile: fast,
      overrides: { http_client: { retry_attempts: 0 }, circuit_breaker: { failure_threshold: 2 } },
    })
    for (const m of [h.mocks.openai, h.mocks.anthropic])
      m.setProfile({ ...fast, faults: [{ type: 'status', status: 500, rate: 1 }] })
    for (let i = 0; i < 2; i++) await postChat(h.url, chatBody())
    for (let i = 0; i < 2; i++) await postChat(h.url, chatBody({ model: 'haiku' }))
    const providers = await json(`${h.url}/health/providers`)
    expect(providers.status).toBe(503)
    const p = providers.body.providers['openai-a']
    expect(p).toMatchObject({ status: 'unavailable', breaker: { state: 'open' } })
    expect(p.recent.error_rate).toBe(1)
    expect(p.last_error).toMatchObject({ kind: 'status', status: 500 })
    const health = await json(`${h.url}/health`)
    expect(health.status).toBe(503)
    expect(health.body.checks.providers).toMatchObject({ status: 'unavailable', available: 0 })
    const metrics = await json(`${h.url}/metrics`)
    expect(metrics.body.circuit_breakers['openai-a'].state).toBe('open')
    expect(metrics.body.requests.failures).toBe(4)
    expect(metrics.body.requests.error_rate).toBe(1)
  })

  it("keeps a provider's words about one client's request off the public health endpoints", async () => {
    h = await startAll({ profile: fast, overrides: { http_client: { retry_attempts: 0 } } })
    const quote = "Invalid 'messages[0].content': my private prompt"
    h.mocks.openai.setProfile({ ...fast, faults: [{ type: 'status', status: 400, rate: 1, message: quote }] })
    const res = await postChat(h.url, chatBody())
    expect(res.status).toBe(400)
    // The client who sent it is told what the provider said.
    expect((await res.json()).error.message).toBe(quote)
    const providers = await fetch(`${h.url}/health/providers`)
    const text = await providers.text()
    expect(JSON.parse(text).providers['openai-a'].last_error).toMatchObject({ kind: 'status', status: 400 })
    expect(text).not.toContain('private prompt')
    expect(await (await fetch(`${h.url}/metrics`)).text()).not.toContain('private prompt')
  })

  it('answers 503 while shutting down', async () => {
    h = await startAll({ profile: fast })
    h.app.telemetry.shuttingDown = true
    const { status, body } = await json(`${h.url}/health`)
    expect(status).toBe(503)
    expect(body).toMatchObject({ status: 'unavailable', shutting_down: true })
  })
})

describe('debug routes', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('need an admin key', async () => {
    h = await startAll({ profile: fast })
    expect((await fetch(`${h.url}/debug/memory/profile`)).status).toBe(401)
    const client = await fetch(`${h.url}/debug/memory/profile`, {
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    })
    expect(client.status).toBe(403)
    expect((await client.json()).error.code).toBe('admin_key_required')
    expect((await fetch(`${h.url}/debug/memory/gc`, { method: 'POST' })).status).toBe(401)
  })

  it('curl -X POST /debug/memory/gc: a full GC with the heap before and after', async () => {
    h = await startAll({ profile: fast })
    const { status, body } = await json(`${h.url}/debug/memory/gc`, { method: 'POST', headers: admin })
    expect(status).toBe(200)
    expect(body.before.heap_used_mb).toBeGreaterThan(0)
    expect(body.after.heap_used_mb).toBeGreaterThan(0)
    expect(body.duration_ms).toBeGreaterThan(0)
    expect(body.pid).toBe(process.pid)
    expect(h.app.telemetry.memory.gcRuns).toBe(1)
  })

  it('curl /debug/memory/profile: heap, spaces, the post-GC trend and the leak verdict', async () => {
    h = await startAll({ profile: fast })
    await fetch(`${h.url}/debug/memory/gc`, { method: 'POST', headers: admin })
    const { status, body } = await json(`${h.url}/debug/memory/profile`, { headers: admin })
    expect(status).toBe(200)
    expect(body.heap.used_mb).toBeGreaterThan(0)
    expect(body.heap.limit_mb).toBeGreaterThan(body.heap.used_mb)
    expect(body.spaces.map((s: { name: string }) => s.name)).toContain('old_space')
    expect(body.trend.length).toBeGreaterThanOrEqual(1)
    expect(body.leak).toMatchObject({ suspected: false })
    expect(body.leak.reason).toContain('not enough post-GC samples')
    expect(body.heap_dumps).toEqual({ enabled: false, taken: [] })
  })

  it('curl /debug/profile?seconds=N: a downloadable .cpuprofile; N is bounded; one at a time', async () => {
    h = await startAll({ profile: fast })
    const pending = fetch(`${h.url}/debug/profile?seconds=0.5`, { headers: admin })
    await new Promise((r) => setTimeout(r, 100))
    const busy = await fetch(`${h.url}/debug/profile?seconds=0.5`, { headers: admin })
    expect(busy.status).toBe(409)
    expect((await busy.json()).error.code).toBe('profile_in_progress')
    const res = await pending
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="cpu-.+\.cpuprofile"/)
    const profile = await res.json()
    expect(profile.nodes.length).toBeGreaterThan(0)
    expect(profile.endTime).toBeGreaterThan(profile.startTime)
    for (const bad of ['0', '61', 'abc']) {
      const r = await fetch(`${h.url}/debug/profile?seconds=${bad}`, { headers: admin })
      expect(r.status).toBe(400)
      expect((await r.json()).error.param).toBe('seconds')
    }
  })

  it('do not exist in production unless profiling is enabled', async () => {
    h = await startAll({ profile: fast, overrides: { app: { environment: 'production' } } })
    const res = await fetch(`${h.url}/debug/memory/profile`, { headers: admin })
    expect(res.status).toBe(404)
    expect((await res.json()).error.code).toBe('not_found')
    await h.close()
    h = await startAll({
      profile: fast,
      overrides: { app: { environment: 'production' }, profiling: { enabled: true } },
    })
    expect((await fetch(`${h.url}/debug/memory/profile`, { headers: admin })).status).toBe(200)
  })
})

describe('performance.monitoring_enabled: false', () => {
  it('keeps the request path free of metrics; /metrics still answers and says so', async () => {
    const h = await startAll({ profile: fast, overrides: { performance: { monitoring_enabled: false } } })
    try {
      expect((await postChat(h.url, chatBody())).status).toBe(200)
      const { body } = await json(`${h.url}/metrics`)
      expect(body.monitoring_enabled).toBe(false)
      expect(body.requests.requests).toBe(0)
      expect(body.circuit_breakers['openai-a'].state).toBe('closed')
      const text = await (await fetch(`${h.url}/metrics/prometheus`)).text()
      expect(text).not.toMatch(/^llm_proxy_requests_total\{/m)
      expect(text).toMatch(/^llm_proxy_pool_max_connections\{provider="openai-a"\} 100$/m)
    } finally {
      await h.close()
    }
  })
})
