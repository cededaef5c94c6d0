import { afterEach, describe, expect, it } from 'vitest'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { FakeClock } from './fake-clock.ts'
import { ADMIN_KEY, CLIENT_KEY, chatBody, type Harness, postChat, sseData, startAll } from './helpers.ts'

const fast: ProfileInput = { latency: { ttft: 0, itl: 0 } }
const cacheOn = { caching: { enabled: true, warming: { enabled: false } } }

const chatCalls = (h: Harness, wire: 'openai' | 'anthropic' = 'openai') =>
  Object.values(
    h.mocks[wire].stats().requests.by_route[wire === 'openai' ? 'chat' : 'messages'] ?? {},
  ).reduce((a, b) => a + b, 0)

async function admin(url: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** Polls until `check` holds (coalescing: wait until every client joined the one upstream call). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`gave up waiting until ${what}`)
}

describe('response cache over HTTP', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('answers MISS, then HIT with the same body and no upstream call', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    const first = await postChat(h.url, chatBody())
    expect(first.headers.get('x-cache')).toBe('MISS')
    const firstBody = await first.text()
    const second = await postChat(h.url, chatBody())
    expect(second.status).toBe(200)
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.headers.get('age')).toMatch(/^\d+$/)
    expect(await second.text()).toBe(firstBody)
    expect(chatCalls(h)).toBe(1)
  })

  it('expires entries after the TTL times the environment multiplier (injected clock)', async () => {
    const clock = new FakeClock()
    // staging: cache_ttl_multiplier 0.5, so the 1800 s TTL is 900 s.
    h = await startAll({
      profile: fast,
      overrides: { ...cacheOn, app: { environment: 'staging' } },
      deps: { clock },
    })
    await postChat(h.url, chatBody())
    clock.advance(899_000)
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('HIT')
    clock.advance(2_000)
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('MISS')
    expect(h.app.services.caches.snapshot().caches.response.evictions).toMatchObject({ expire: 1 })
  })

  it('gives memory back when the memory manager asks its caches to shrink', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    for (let i = 0; i < 10; i++) await postChat(h.url, chatBody({ max_tokens: 10 + i }))
    const response = h.app.services.caches.targets().find((t) => t.name === 'response')!
    const before = response.bytes()
    expect(response.shrink(0.5)).toBeGreaterThanOrEqual(before / 2)
    const figures = h.app.services.caches.snapshot().caches.response
    expect(figures.evictions.memory_pressure + figures.entries).toBe(10)
    expect(figures.evictions.memory_pressure).toBeGreaterThanOrEqual(5)
  })

  it('shares one entry between an alias and its model, and between field orders', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    const a = {
      model: 'claude-3-5-haiku-latest',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 9,
      temperature: 0,
    }
    await postChat(h.url, a)
    const reordered = {
      temperature: 0,
      max_tokens: 9,
      messages: [{ content: 'hi', role: 'user' }],
      model: 'haiku',
    }
    const res = await postChat(h.url, reordered)
    expect(res.headers.get('x-cache')).toBe('HIT')
    expect(chatCalls(h, 'anthropic')).toBe(1)
  })

  it('misses when anything that changes the answer changes', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    await postChat(h.url, chatBody())
    for (const change of [
      { max_tokens: 21 },
      { temperature: 0.5 },
      { seed: 3 },
      { stop: ['x'] },
      { model: 'resilient' },
    ]) {
      const res = await postChat(h.url, chatBody(change))
      expect(res.headers.get('x-cache'), JSON.stringify(change)).toBe('MISS')
    }
  })

  it('bypasses on no-store (no lookup, no store) and refreshes on no-cache (no lookup, store)', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    const noStore = await postChat(h.url, chatBody(), { 'cache-control': 'no-store' })
    expect(noStore.headers.get('x-cache')).toBe('BYPASS')
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('MISS')
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('HIT')
    const noCache = await postChat(h.url, chatBody(), { 'cache-control': 'no-cache' })
    expect(noCache.headers.get('x-cache')).toBe('BYPASS')
    expect(chatCalls(h)).toBe(3)
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('HIT')
  })

  it('says BYPASS on every answer when caching is off', async () => {
    h = await startAll({ profile: fast })
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('BYPASS')
    expect((await postChat(h.url, chatBody({ stream: true }))).headers.get('x-cache')).toBe('BYPASS')
  })

  it('says BYPASS on answers that never reached the cache: bad JSON, bad key, unknown model', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    expect((await postChat(h.url, '{"model":')).headers.get('x-cache')).toBe('BYPASS')
    expect(
      (await postChat(h.url, chatBody(), { authorization: 'Bearer sk-wrong-key-000' })).headers.get(
        'x-cache',
      ),
    ).toBe('BYPASS')
    const unknown = await postChat(h.url, chatBody({ model: 'nope' }))
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('x-cache')).toBe('BYPASS')
  })

  it('never caches an error', async () => {
    h = await startAll({ profile: fast, overrides: { ...cacheOn, http_client: { retry_attempts: 0 } } })
    h.mocks.openai.setProfile({ ...fast, faults: [{ type: 'status', status: 500, on_requests: [1] }] })
    const failed = await postChat(h.url, chatBody())
    expect(failed.status).toBe(502)
    expect(failed.headers.get('x-cache')).toBe('MISS')
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('MISS')
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('HIT')
  })

  it('bypasses non-deterministic requests when configured not to cache them', async () => {
    h = await startAll({
      profile: fast,
      overrides: { caching: { enabled: true, response_cache: { cache_non_deterministic: false } } },
    })
    await postChat(h.url, chatBody({ temperature: 0.7 }))
    expect((await postChat(h.url, chatBody({ temperature: 0.7 }))).headers.get('x-cache')).toBe('BYPASS')
    await postChat(h.url, chatBody({ temperature: 0 }))
    expect((await postChat(h.url, chatBody({ temperature: 0 }))).headers.get('x-cache')).toBe('HIT')
  })

  it('makes one upstream call for 100 concurrent identical misses', async () => {
    h = await startAll({ profile: { latency: { ttft: '1500ms', itl: 0 } }, overrides: cacheOn })
    const table = h.app.services.chatCache!.completions
    const answers = Array.from({ length: 100 }, () => postChat(h.url, chatBody()))
    await until(() => table.coalesced === 99, '99 clients joined the first one')
    const responses = await Promise.all(answers)
    const bodies = await Promise.all(responses.map((r) => r.text()))
    expect(responses.every((r) => r.status === 200)).toBe(true)
    expect(new Set(bodies).size).toBe(1)
    expect(responses.filter((r) => r.headers.get('x-cache-coalesced') === 'true')).toHaveLength(99)
    expect(h.mocks.openai.stats().requests.by_route.chat).toEqual({ 200: 1 })
  })

  it('coalesces concurrent identical streamed misses too', async () => {
    h = await startAll({ profile: { latency: { ttft: '1500ms', itl: 0 } }, overrides: cacheOn })
    const table = h.app.services.chatCache!.streams
    const answers = Array.from({ length: 20 }, () => postChat(h.url, chatBody({ stream: true })))
    await until(() => table.coalesced === 19, '19 clients joined the first stream')
    const bodies = await Promise.all((await Promise.all(answers)).map((r) => sseData(r)))
    expect(new Set(bodies.map((b) => b.join('\n'))).size).toBe(1)
    expect(bodies[0].at(-1)).toBe('[DONE]')
    expect(h.mocks.openai.stats().requests.by_route.chat).toEqual({ 200: 1 })
  })
})

describe('coalesced clients', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('keeps the shared upstream call going when one of its clients leaves', async () => {
    h = await startAll({ profile: { latency: { ttft: '800ms', itl: 0 } }, overrides: cacheOn })
    const leaving = new AbortController()
    const first = fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify(chatBody({ stream: true })),
      signal: leaving.signal,
    }).catch((err) => err)
    const staying = postChat(h.url, chatBody({ stream: true }))
    await until(() => h.app.services.chatCache!.streams.coalesced === 1, 'the second client joined')
    leaving.abort()
    expect(await first).toBeInstanceOf(Error)
    const data = await sseData(await staying)
    expect(data.at(-1)).toBe('[DONE]')
    const stats = h.mocks.openai.stats()
    expect(stats).toMatchObject({ completed: 1, aborted: 0 })
    expect((await postChat(h.url, chatBody({ stream: true }))).headers.get('x-cache')).toBe('HIT')
  })
})

describe('a flight whose every client left', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('aborts its upstream call and stores nothing', async () => {
    h = await startAll({ profile: { latency: { ttft: '800ms', itl: 0 } }, overrides: cacheOn })
    const leaving = new AbortController()
    const request = fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify(chatBody()),
      signal: leaving.signal,
    }).catch((err) => err)
    await until(() => h.mocks.openai.stats().in_flight === 1, 'the call reached the provider')
    leaving.abort()
    await request
    await until(() => h.mocks.openai.stats().aborted === 1, 'the provider saw the call aborted')
    expect(h.app.services.caches.response.l1.size).toBe(0)
  })
})

describe('streamed answers in the cache', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('replays a stream with the same chunk sequence, then [DONE]', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    const first = await postChat(h.url, chatBody({ stream: true }))
    expect(first.headers.get('x-cache')).toBe('MISS')
    const original = await sseData(first)
    const again = await postChat(h.url, chatBody({ stream: true }))
    expect(again.headers.get('x-cache')).toBe('HIT')
    expect(again.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const replay = await sseData(again)
    expect(replay).toEqual(original)
    expect(replay.at(-1)).toBe('[DONE]')
    expect(chatCalls(h)).toBe(1)
  })

  it('adds the usage chunk only for a client that asked for it', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    const plain = await sseData(await postChat(h.url, chatBody({ stream: true })))
    const withUsage = await sseData(
      await postChat(h.url, chatBody({ stream: true, stream_options: { include_usage: true } })),
    )
    expect(withUsage.slice(0, -2)).toEqual(plain.slice(0, -1))
    const usage = JSON.parse(withUsage.at(-2)!)
    expect(usage.choices).toEqual([])
    expect(usage.usage.total_tokens).toBeGreaterThan(0)
    expect(plain.some((d) => d.includes('"choices":[]'))).toBe(false)
  })

  it('answers a plain request from a streamed entry, with the same text', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    const chunks = (await sseData(await postChat(h.url, chatBody({ stream: true }))))
      .filter((d) => d !== '[DONE]')
      .map((d) => JSON.parse(d))
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')
    const res = await postChat(h.url, chatBody())
    expect(res.headers.get('x-cache')).toBe('HIT')
    const completion = await res.json()
    expect(completion.object).toBe('chat.completion')
    expect(completion.id).toBe(chunks[0].id)
    expect(completion.choices[0].message).toMatchObject({ role: 'assistant', content: text })
    expect(completion.choices[0].finish_reason).toBe(chunks.at(-1).choices[0].finish_reason)
    // The usage the provider reported for the stream, though this client's stream did not carry it.
    expect(completion.usage.completion_tokens).toBeGreaterThan(0)
    expect(completion.usage.total_tokens).toBe(
      completion.usage.prompt_tokens + completion.usage.completion_tokens,
    )
  })

  it('answers a stream from a plain entry with a synthesized stream of the same text', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    const completion = await (await postChat(h.url, chatBody())).json()
    const res = await postChat(h.url, chatBody({ stream: true }))
    expect(res.headers.get('x-cache')).toBe('HIT')
    const data = await sseData(res)
    expect(data.at(-1)).toBe('[DONE]')
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d))
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === completion.id)).toBe(true)
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(
      completion.choices[0].message.content,
    )
  })

  it('never stores a stream the provider cut', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    h.mocks.openai.setProfile({ ...fast, faults: [{ type: 'cut', after_chunks: 3, on_requests: [1] }] })
    const cut = await sseData(await postChat(h.url, chatBody({ stream: true })))
    expect(JSON.parse(cut.at(-1)!).error.code).toBe('stream_truncated')
    const next = await postChat(h.url, chatBody({ stream: true }))
    expect(next.headers.get('x-cache')).toBe('MISS')
    expect((await sseData(next)).at(-1)).toBe('[DONE]')
  })
})

describe('cache administration', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('needs an admin key', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    const res = await fetch(`${h.url}/api/cache/stats`, {
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    })
    expect(res.status).toBe(403)
    expect((await res.json()).error.code).toBe('admin_key_required')
  })

  it('invalidates by provider: only the entries that provider answered', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    await postChat(h.url, chatBody())
    await postChat(h.url, chatBody({ model: 'haiku' }))
    const res = await admin(h.url, 'DELETE', '/api/cache?provider=anthropic-a')
    expect((await res.json()).deleted.response).toBe(1)
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('HIT')
    expect((await postChat(h.url, chatBody({ model: 'haiku' }))).headers.get('x-cache')).toBe('MISS')
  })

  it('invalidates by pattern on the model, and everything without a filter', async () => {
    h = await startAll({ profile: fast, overrides: cacheOn })
    await postChat(h.url, chatBody())
    await postChat(h.url, chatBody({ model: 'resilient' }))
    await postChat(h.url, chatBody({ model: 'haiku' }))
    const byPattern = await (await admin(h.url, 'DELETE', '/api/cache?pattern=claude-*')).json()
    expect(byPattern.deleted.response).toBe(1)
    expect((await postChat(h.url, chatBody({ model: 'haiku' }))).headers.get('x-cache')).toBe('MISS')
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('HIT')
    const all = await (await admin(h.url, 'DELETE', '/api/cache')).json()
    expect(all.deleted.response).toBe(3)
    const stats = await (await admin(h.url, 'GET', '/api/cache/stats')).json()
    expect(stats.caches.response.evictions).toMatchObject({ pattern: 1, manual: 3 })
  })

  it('reports hits, misses, bytes, removals and compression per cache', async () => {
    // Records this small are compressed only below the default threshold (a packed stream of 60
    // tokens is about 1 KB).
    const compressAll = { performance: { cache: { compression_threshold_bytes: 64 } } }
    h = await startAll({ profile: fast, overrides: { ...cacheOn, ...compressAll } })
    await postChat(h.url, chatBody())
    await postChat(h.url, chatBody())
    await postChat(h.url, chatBody(), { 'cache-control': 'no-store' })
    await postChat(h.url, chatBody({ stream: true, max_tokens: 60 }))
    const stats = await (await admin(h.url, 'GET', '/api/cache/stats')).json()
    expect(stats.hit_rate).toBeCloseTo(1 / 3)
    expect(stats.bypasses).toBe(1)
    expect(stats.caches.response).toMatchObject({ hits: 1, misses: 2, entries: 2 })
    expect(stats.caches.response.bytes).toBeGreaterThan(0)
    expect(stats.caches.response.max_bytes).toBe(100 * 1024 * 1024)
    expect(stats.caches.response.compression_ratio).toBeGreaterThan(1)
    expect(Object.keys(stats.caches)).toEqual(expect.arrayContaining(['response', 'summary', 'model']))
    expect(stats.redis).toMatchObject({ configured: false })
    expect(stats.warming).toMatchObject({ runs: 0 })
  })
})
