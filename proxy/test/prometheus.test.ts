import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missingTool } from '../../ci/setup-hint.ts'
import { ADMIN_KEY, CLIENT_KEY, chatBody, type Harness, postChat, sseData, startAll } from './helpers.ts'

// GET /metrics/prometheus as Prometheus sees it: promtool (Debian's prometheus package) checks a
// live scrape and the shipped alert rules; the Grafana dashboard only queries exported names.
// Without promtool these tests fail, unless SKIP_PROMTOOL=1 says to skip them.

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' })
const hasPromtool = promtool.status === 0
const skipPromtool = process.env.SKIP_PROMTOOL === '1'
if (!hasPromtool && skipPromtool) console.warn('promtool not found: SKIP_PROMTOOL=1, skipping its checks')

function runPromtool(args: string[], input?: string) {
  if (!hasPromtool) {
    throw new Error(missingTool('promtool', "Debian's prometheus package", 'set SKIP_PROMTOOL=1 to skip'))
  }
  return spawnSync('promtool', args, { input, encoding: 'utf8' })
}

/** Metric names a scrape exposes: sample names, and a histogram's _bucket/_sum/_count. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line)
    if (type) {
      names.add(type[1])
      if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(type[1] + s)
      continue
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)
    if (sample) names.add(sample[1])
  }
  return names
}

describe('GET /metrics/prometheus', () => {
  let h: Harness
  let scrape: string
  beforeAll(async () => {
    h = await startAll({
      profile: { latency: { ttft: 0, itl: 0 } },
      overrides: { http_client: { retry_attempts: 0 } },
    })
    for (let i = 0; i < 3; i++) await postChat(h.url, chatBody({ max_tokens: 5 + i }))
    await sseData(await postChat(h.url, chatBody({ model: 'haiku', stream: true })))
    h.mocks.openai.setProfile({ faults: [{ type: 'status', status: 503, rate: 1 }] })
    await postChat(h.url, chatBody({ max_tokens: 99 }))
    h.mocks.openai.reset()
    const res = await fetch(`${h.url}/metrics/prometheus`)
    expect(res.headers.get('content-type')).toContain('text/plain')
    scrape = await res.text()
  })
  afterAll(() => h.close())

  it.skipIf(skipPromtool)('passes promtool check metrics', () => {
    const out = runPromtool(['check', 'metrics'], scrape)
    expect(`${out.stdout}${out.stderr}`.trim()).toBe('')
    expect(out.status).toBe(0)
  })

  it('exports the request, overhead, TTFT, upstream, token, breaker, pool and process metrics', () => {
    const series = (name: string) => scrape.split('\n').filter((l) => l.startsWith(name))
    expect(series('llm_proxy_requests_total{')).toContain(
      'llm_proxy_requests_total{route="chat",model="gpt-4o-mini",provider="openai-a",status="200"} 3',
    )
    expect(series('llm_proxy_requests_total{')).toContain(
      'llm_proxy_requests_total{route="chat",model="gpt-4o-mini",provider="openai-a",status="503"} 1',
    )
    // An alias is reported under the model it routes to: labels stay bounded by the routing table.
    expect(series('llm_proxy_time_to_first_token_seconds_count')).toEqual([
      'llm_proxy_time_to_first_token_seconds_count{model="claude-3-5-haiku-latest",provider="anthropic-a"} 1',
    ])
    expect(series('llm_proxy_request_failures_total{')).toEqual([
      'llm_proxy_request_failures_total{route="chat"} 1',
    ])
    expect(series('llm_proxy_overhead_seconds_count{')).toContain(
      'llm_proxy_overhead_seconds_count{route="chat",stream="false"} 4',
    )
    expect(series('llm_proxy_upstream_attempts_total{')).toContain(
      'llm_proxy_upstream_attempts_total{provider="openai-a",outcome="status"} 1',
    )
    expect(series('llm_proxy_tokens_total{provider="openai-a",kind="completion"}')[0]).toMatch(/ [1-9]\d*$/)
    expect(series('llm_proxy_circuit_breaker_state{provider="openai-a",state="closed"}')).toEqual([
      'llm_proxy_circuit_breaker_state{provider="openai-a",state="closed"} 1',
    ])
    expect(series('llm_proxy_pool_max_connections{provider="openai-a"}')).toEqual([
      'llm_proxy_pool_max_connections{provider="openai-a"} 100',
    ])
    for (const name of [
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      expect(series(name).length).toBeGreaterThan(0)
    expect(scrape).not.toContain('# TYPE llm_proxy_request_duration_seconds summary')
    expect(scrape).toContain('# TYPE llm_proxy_request_duration_seconds histogram')
  })

  it.skipIf(skipPromtool)('ships alert rules that pass promtool check rules', () => {
    const out = runPromtool(['check', 'rules', 'proxy/ops/alerts.yml'])
    expect(out.status, out.stdout + out.stderr).toBe(0)
    expect(out.stdout).toContain('SUCCESS: 4 rules found')
  })

  it('ships alert rules and a Grafana dashboard that only query exported metrics', () => {
    const names = exportedNames(scrape)
    // The proxy's primary adds these under node:cluster (proxy/src/workers/primary.ts).
    for (const n of [
      'llm_proxy_workers',
      'llm_proxy_worker_recycles_total',
      'llm_proxy_worker_restarts_total',
    ])
      names.add(n)
    const dashboard = JSON.parse(readFileSync('proxy/ops/grafana-dashboard.json', 'utf8'))
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    )
    const rules = readFileSync('proxy/ops/alerts.yml', 'utf8')
    exprs.push(...[...rules.matchAll(/expr: (?:\|\n)?([\s\S]*?)\n\s+for:/g)].map((m) => m[1]))
    expect(exprs.length).toBeGreaterThan(15)
    const titles = dashboard.panels.map((p: { title: string }) => p.title).join(' | ')
    for (const panel of [
      'Response time',
      'Throughput',
      'Error rate',
      'Cache',
      'Memory',
      'Connection pool',
      'Circuit breaker',
    ])
      expect(titles).toContain(panel)
    for (const expr of exprs) {
      const metrics = expr.match(/\b(?:llm_proxy|nodejs|process)_[a-z0-9_]+/g) ?? []
      expect(metrics.length, expr).toBeGreaterThan(0)
      for (const m of metrics) expect(names.has(m), `${m} in ${expr}`).toBe(true)
    }
  })
})

describe('every route in the request metrics', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startAll({
      profile: { latency: { ttft: 0, itl: 0 } },
      overrides: {
        caching: { enabled: true },
        models: { 'text-embedding-3-small': { kind: 'embedding', deployments: [{ provider: 'openai-a' }] } },
      },
    })
  })
  afterAll(() => h.close())

  it('counts one call of every route under its own label, errors by code, and stays promtool-clean', async () => {
    const auth = { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' }
    const admin = { authorization: `Bearer ${ADMIN_KEY}` }
    const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
      fetch(`${h.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }).then((r) => r.text())
    await post('/v1/chat/completions', chatBody())
    await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'hello' })
    await post('/v1/messages', {
      model: 'claude-3-5-haiku-latest',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'hi' }],
    })
    await post('/v1/responses', { model: 'gpt-4o-mini', input: 'hi', max_output_tokens: 8 })
    await post('/v1/context/condense', {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }],
      target_tokens: 100,
    })
    await fetch(`${h.url}/v1/models`, { headers: auth }).then((r) => r.text())
    await fetch(`${h.url}/api/cache/stats`, { headers: admin }).then((r) => r.text())
    await fetch(`${h.url}/debug/memory/profile`, { headers: admin }).then((r) => r.text())
    await fetch(`${h.url}/v1/nowhere`, { headers: auth }).then((r) => r.text())
    await post('/v1/chat/completions', { model: 'gpt-4o-mini' })
    const scrape = await (await fetch(`${h.url}/metrics/prometheus`)).text()
    const routes = new Set(
      [...scrape.matchAll(/^llm_proxy_requests_total\{route="([^"]+)"/gm)].map((m) => m[1] as string),
    )
    expect(routes).toEqual(
      new Set([
        'chat',
        'embeddings',
        'messages',
        'responses',
        'condense',
        'models',
        'cache_admin',
        'debug',
        'not_found',
      ]),
    )
    expect(scrape).toMatch(/^llm_proxy_errors_total\{route="chat",code="invalid_request"\} 1$/m)
    expect(scrape).toMatch(/^llm_proxy_errors_total\{route="not_found",code="not_found"\} 1$/m)
    if (!skipPromtool) {
      const out = runPromtool(['check', 'metrics'], scrape)
      expect(`${out.stdout}${out.stderr}`.trim()).toBe('')
    }
  })
})
