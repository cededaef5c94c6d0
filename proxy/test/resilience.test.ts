import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import type { RequestOutcome } from '../src/observability/observer.ts'
import { FakeClock } from './fake-clock.ts'
import { chatBody, type Harness, postChat, sseData, startAll } from './helpers.ts'
import { completionBody, proxyOver, startHostileUpstream } from './hostile-upstream.ts'

const fast: ProfileInput = { latency: { ttft: 0, itl: 0 } }
const withFaults = (faults: ProfileInput['faults']): ProfileInput => ({ ...fast, faults })

describe('resilience against misbehaving providers', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('fails over to the Anthropic deployment when the OpenAI one answers 503', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(withFaults([{ type: 'status', status: 503, rate: 1 }]))
    const res = await postChat(h.url, chatBody({ model: 'resilient' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('x-proxy-provider')).toBe('anthropic-a')
    expect(res.headers.get('x-proxy-attempts')).toBe('2')
    const body = await res.json()
    expect(body.object).toBe('chat.completion')
    expect(h.mocks.openai.stats().requests.by_route.chat).toEqual({ 503: 1 })
  })

  it("fails over from Anthropic's 529 overloaded as from a 503, and counts it against the breaker", async () => {
    h = await startAll({
      profile: fast,
      overrides: {
        http_client: { retry_attempts: 0 },
        models: {
          'anthropic-first': {
            deployments: [
              { provider: 'anthropic-a', model: 'claude-3-5-haiku-latest' },
              { provider: 'openai-a', model: 'gpt-4o-mini' },
            ],
          },
        },
      },
    })
    h.mocks.anthropic.setProfile(withFaults([{ type: 'status', status: 529, rate: 1 }]))
    const res = await postChat(h.url, chatBody({ model: 'anthropic-first' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('x-proxy-provider')).toBe('openai-a')
    const breaker = (await (await fetch(`${h.url}/metrics`)).json()).circuit_breakers['anthropic-a']
    expect(breaker.window.failures).toBe(1)
  })

  it('fails over when a provider hangs, after the configured timeout', async () => {
    h = await startAll({ profile: fast, overrides: { http_client: { timeout: 0.3 } } })
    h.mocks.openai.setProfile(withFaults([{ type: 'hang', rate: 1 }]))
    const res = await postChat(h.url, chatBody({ model: 'resilient' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('x-proxy-provider')).toBe('anthropic-a')
  })

  it('answers 504 in the OpenAI shape when the only provider hangs', async () => {
    h = await startAll({ profile: fast, overrides: { http_client: { timeout: 0.2, retry_attempts: 0 } } })
    h.mocks.openai.setProfile(withFaults([{ type: 'hang', rate: 1 }]))
    const res = await postChat(h.url, chatBody())
    expect(res.status).toBe(504)
    expect((await res.json()).error).toMatchObject({ code: 'upstream_timeout', type: 'upstream_error' })
  })

  it('answers 502 when the provider resets the connection, after retrying', async () => {
    const outcomes: RequestOutcome[] = []
    const observer = { request: (o: RequestOutcome) => outcomes.push(o), attempt() {}, breaker() {} }
    h = await startAll({
      profile: fast,
      overrides: { http_client: { retry_attempts: 2 } },
      deps: { observers: [observer] },
    })
    h.mocks.openai.setProfile(withFaults([{ type: 'reset', rate: 1 }]))
    const res = await postChat(h.url, chatBody())
    expect(res.status).toBe(502)
    expect((await res.json()).error.code).toBe('upstream_connection_reset')
    expect(h.mocks.openai.stats().requests.by_route.chat).toEqual({ reset: 3 })
    // The failed request's record says what it cost: three attempts on openai-a, and the waits.
    expect(outcomes[0]).toMatchObject({ status: 502, provider: 'openai-a', attempts: 3 })
    expect(outcomes[0].waitMs).toBeGreaterThan(0)
  })

  it('waits what Retry-After asks (seen by the injected clock), then succeeds', async () => {
    const clock = new FakeClock()
    h = await startAll({ profile: fast, deps: { clock, random: () => 0.5 } })
    h.mocks.openai.setProfile(withFaults([{ type: 'rate_limit', retry_after: '2500ms', on_requests: [1] }]))
    const res = await postChat(h.url, chatBody())
    expect(res.status).toBe(200)
    expect(clock.sleeps).toEqual([2500])
    expect(h.mocks.openai.stats().requests.by_route.chat).toEqual({ 200: 1, 429: 1 })
  })

  it('passes a 429 through with Retry-After when the wait is longer than allowed', async () => {
    h = await startAll({ profile: fast, overrides: { http_client: { retry_after_max: 1 } } })
    h.mocks.openai.setProfile(withFaults([{ type: 'rate_limit', retry_after: '5s', rate: 1 }]))
    const res = await postChat(h.url, chatBody())
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('5')
    expect((await res.json()).error.code).toBe('rate_limit_exceeded')
  })

  it('opens the breaker, fails fast with 503 + Retry-After, and recovers through half-open', async () => {
    h = await startAll({
      profile: fast,
      overrides: {
        http_client: { retry_attempts: 0 },
        circuit_breaker: { failure_threshold: 3, recovery_timeout: 0.3, half_open_max_calls: 2 },
        performance: { circuit_breaker: { recovery_success_threshold: 1 } },
      },
    })
    const breaker = h.app.registry.providers.get('openai-a')!.breaker
    h.mocks.openai.setProfile(withFaults([{ type: 'status', status: 500, rate: 1 }]))
    for (let i = 0; i < 3; i++) expect((await postChat(h.url, chatBody())).status).toBe(502)
    expect(breaker.state).toBe('open')

    const seenBefore = h.mocks.openai.stats().requests.total
    const rejected = await postChat(h.url, chatBody())
    expect(rejected.status).toBe(503)
    expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await rejected.json()).error.code).toBe('all_providers_unavailable')
    expect(h.mocks.openai.stats().requests.total).toBe(seenBefore)

    // The provider heals; after recovery_timeout the breaker lets two trial calls through.
    h.mocks.openai.setProfile(fast)
    await new Promise((r) => setTimeout(r, 400))
    expect(breaker.state).toBe('half_open')
    expect((await postChat(h.url, chatBody())).status).toBe(200)
    expect(breaker.state).toBe('half_open')
    expect((await postChat(h.url, chatBody())).status).toBe(200)
    expect(breaker.state).toBe('closed')
  })

  it('reopens with a longer recovery timeout when a half-open trial fails', async () => {
    h = await startAll({
      profile: fast,
      overrides: {
        http_client: { retry_attempts: 0 },
        circuit_breaker: { failure_threshold: 2, recovery_timeout: 0.2, half_open_max_calls: 1 },
      },
    })
    const breaker = h.app.registry.providers.get('openai-a')!.breaker
    h.mocks.openai.setProfile(withFaults([{ type: 'status', status: 503, rate: 1 }]))
    for (let i = 0; i < 2; i++) await postChat(h.url, chatBody())
    expect(breaker.state).toBe('open')
    await new Promise((r) => setTimeout(r, 300))
    expect(breaker.state).toBe('half_open')
    expect((await postChat(h.url, chatBody())).status).toBe(503)
    expect(breaker.snapshot()).toMatchObject({ state: 'open', recovery_timeout_ms: 400, times_opened: 2 })
  })

  it('does not let client errors count against the breaker', async () => {
    h = await startAll({
      profile: fast,
      overrides: { circuit_breaker: { failure_threshold: 2 } },
    })
    h.mocks.openai.setProfile(withFaults([{ type: 'status', status: 400, rate: 1 }]))
    for (let i = 0; i < 5; i++) expect((await postChat(h.url, chatBody())).status).toBe(400)
    expect(h.app.registry.providers.get('openai-a')!.breaker.state).toBe('closed')
  })
})

describe('streams', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('ends a stream cut by the provider with an error event, never a silent [DONE]', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(withFaults([{ type: 'cut', after_chunks: 3, rate: 1 }]))
    const res = await postChat(h.url, chatBody({ stream: true, max_tokens: 30 }))
    expect(res.status).toBe(200)
    const events = await sseData(res)
    expect(events).not.toContain('[DONE]')
    const last = JSON.parse(events.at(-1)!)
    expect(last.error).toMatchObject({ code: 'stream_truncated', type: 'upstream_error' })
    expect(events.length).toBe(4)
  })

  it('retries a stream cut before its first event on another deployment', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(withFaults([{ type: 'cut', after_chunks: 0, rate: 1 }]))
    const res = await postChat(h.url, chatBody({ model: 'resilient', stream: true }))
    expect(res.headers.get('x-proxy-provider')).toBe('anthropic-a')
    const events = await sseData(res)
    expect(events.at(-1)).toBe('[DONE]')
  })

  it('forwards an error status before the stream starts as a plain error answer', async () => {
    h = await startAll({ profile: fast, overrides: { http_client: { retry_attempts: 0 } } })
    h.mocks.openai.setProfile(withFaults([{ type: 'status', status: 503, rate: 1 }]))
    const res = await postChat(h.url, chatBody({ stream: true }))
    expect(res.status).toBe(503)
    expect((await res.json()).error.code).toBe('upstream_unavailable')
  })

  it('aborts the upstream request when the client goes away, as the mock sees', async () => {
    h = await startAll({ profile: { latency: { ttft: 0, itl: '50ms' } } })
    const abort = new AbortController()
    const res = await postChat(h.url, chatBody({ stream: true, max_tokens: 200 }), {})
    const reader = res.body!.getReader()
    await reader.read()
    abort.abort()
    await reader.cancel()
    await waitFor(() => h.mocks.openai.stats().aborted === 1)
    expect(h.mocks.openai.stats()).toMatchObject({ aborted: 1, in_flight: 0 })
  })

  it('aborts a non-streaming upstream request when the client goes away', async () => {
    const outcomes: RequestOutcome[] = []
    const observer = { request: (o: RequestOutcome) => outcomes.push(o), attempt() {}, breaker() {} }
    h = await startAll({ profile: { latency: { ttft: '2s', itl: 0 } }, deps: { observers: [observer] } })
    const abort = new AbortController()
    const pending = postChatWithSignal(h.url, chatBody(), abort.signal)
    await waitFor(() => h.mocks.openai.stats().in_flight === 1)
    abort.abort()
    await pending.catch(() => {})
    await waitFor(() => h.mocks.openai.stats().aborted === 1)
    // Counted as the client's doing (499), not as a proxy failure.
    await waitFor(() => outcomes.length === 1)
    expect(outcomes[0]).toMatchObject({ status: 499, aborted: true, errorCode: 'client_closed_request' })
  })

  it('keeps a slow stream alive with : ping comments before the first token', async () => {
    h = await startAll({
      profile: { latency: { ttft: '700ms', itl: 0 } },
      overrides: { streaming: { ping_interval: 0.2 } },
    })
    const res = await postChat(h.url, chatBody({ stream: true, max_tokens: 5 }))
    const text = await res.text()
    const pings = text.split('\n\n').filter((e) => e === ': ping').length
    expect(pings).toBeGreaterThanOrEqual(2)
    expect(text.indexOf(': ping')).toBeLessThan(text.indexOf('data: '))
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
  })

  it('sends the rest of a stream as it arrives, not buffered', async () => {
    h = await startAll({ profile: { latency: { ttft: 0, itl: '100ms' } } })
    const res = await postChat(h.url, chatBody({ stream: true, max_tokens: 10 }))
    const reader = res.body!.getReader()
    const first = await reader.read()
    // The mock needs about a second for 10 tokens: the first bytes must come long before that.
    const stats = h.mocks.openai.stats()
    expect(first.done).toBe(false)
    expect(stats.in_flight).toBe(1)
    await reader.cancel()
  })
})

async function postChatWithSignal(url: string, body: unknown, signal: AbortSignal): Promise<Response> {
  const { CLIENT_KEY } = await import('./helpers.ts')
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
    body: JSON.stringify(body),
    signal,
  })
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

type Answer = (req: IncomingMessage, body: string, res: ServerResponse) => void

/** A proxy in front of two hand-made providers: model `first` routes to the first, `both` to each in turn. */
async function withTwoUpstreams(
  first: Answer,
  second: Answer,
  test: (url: string, calls: { first: number; second: number }) => Promise<void>,
): Promise<void> {
  const calls = { first: 0, second: 0 }
  const a = await startHostileUpstream((req, body, res) => {
    calls.first++
    first(req, body, res)
  })
  const b = await startHostileUpstream((req, body, res) => {
    calls.second++
    second(req, body, res)
  })
  const proxy = await proxyOver({
    providers: [
      { name: 'first', wire: 'openai', base_url: `${a.url}/v1` },
      { name: 'second', wire: 'openai', base_url: `${b.url}/v1` },
    ],
    models: {
      first: { deployments: [{ provider: 'first' }] },
      both: { deployments: [{ provider: 'first' }, { provider: 'second' }] },
    },
  })
  try {
    await test(proxy.url, calls)
  } finally {
    await proxy.close()
    await a.close()
    await b.close()
  }
}

const answering: Answer = (_req, body, res) => {
  if (JSON.parse(body).stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'hello' } }] })}\n\ndata: [DONE]\n\n`,
    )
  } else res.writeHead(200, { 'content-type': 'application/json' }).end(completionBody('hello'))
}

describe('a provider answering other than asked', () => {
  it('with a redirect: failed over, and 502 when no deployment is left, never passed on as a 3xx', async () => {
    const redirect: Answer = (_req, _body, res) =>
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end()
    await withTwoUpstreams(redirect, answering, async (url) => {
      const res = await postChat(url, chatBody({ model: 'both' }))
      expect(res.status).toBe(200)
      expect(res.headers.get('x-proxy-provider')).toBe('second')
      const only = await postChat(url, chatBody({ model: 'first' }))
      expect(only.status).toBe(502)
      expect(only.headers.get('location')).toBeNull()
      expect((await only.json()).error.code).toBe('upstream_bad_response')
    })
  })

  it('with a plain JSON answer to a stream request: failed over at once, not retried as a cut stream', async () => {
    const plain: Answer = (_req, _body, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(completionBody('not a stream'))
    await withTwoUpstreams(plain, answering, async (url, calls) => {
      const res = await postChat(url, chatBody({ model: 'both', stream: true }))
      expect(res.status).toBe(200)
      expect(res.headers.get('x-proxy-provider')).toBe('second')
      expect((await sseData(res)).at(-1)).toBe('[DONE]')
      expect(calls.first).toBe(1)
      const only = await postChat(url, chatBody({ model: 'first', stream: true }))
      expect(only.status).toBe(502)
      expect((await only.json()).error.code).toBe('upstream_bad_response')
      expect(calls.first).toBe(2)
    })
  })
})
