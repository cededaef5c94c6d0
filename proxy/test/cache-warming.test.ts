import { afterEach, describe, expect, it } from 'vitest'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { FakeClock } from './fake-clock.ts'
import { ADMIN_KEY, chatBody, type Harness, postChat, startAll } from './helpers.ts'

const fast: ProfileInput = { latency: { ttft: 0, itl: 0 } }
// TTL 1800 s, a run every 300 s: an entry is refreshed once it has less than 450 s to live.
const warming = {
  caching: {
    enabled: true,
    // The runs are started by the tests, not by the timer.
    warming: { enabled: false, interval: 300, preload_threshold: 3 },
  },
  performance: { cache_ttl_multiplier: 1 },
  http_client: { timeout: 1, retry_attempts: 0 },
}

const warm = (url: string, body?: unknown) =>
  fetch(`${url}/api/cache/warm`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  })

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
  if (!check()) throw new Error('condition never held')
}

describe('cache warming', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('refreshes a popular entry before it expires, in the background: requests keep hitting meanwhile', async () => {
    const clock = new FakeClock()
    h = await startAll({ profile: fast, overrides: warming, deps: { clock } })
    const { warmer, caches } = h.app.services
    // Popular enough to stay so after the first run halves the counts.
    for (let i = 0; i < 6; i++) await postChat(h.url, chatBody())
    const key = [...caches.response.l1.keys()][0]
    clock.advance(1_400_000)
    expect(caches.response.remainingTtl(key)).toBe(400_000)

    // The provider hangs on the refresh: the warming run cannot finish before the request below.
    h.mocks.openai.setProfile({ ...fast, faults: [{ type: 'hang', rate: 1 }] })
    let finished = false
    const run = warmer!.run().then((r) => {
      finished = true
      return r
    })
    await until(() => h.mocks.openai.stats().in_flight === 1)
    const during = await postChat(h.url, chatBody())
    expect(during.headers.get('x-cache')).toBe('HIT')
    expect(finished).toBe(false)
    expect(await run).toMatchObject({ candidates: 1, refreshed: 0, failed: 1 })

    h.mocks.openai.setProfile(fast)
    expect(await warmer!.run()).toMatchObject({ candidates: 1, refreshed: 1 })
    expect(caches.response.remainingTtl(key)).toBe(1_800_000)
    const stats = warmer!.stats()
    expect(stats).toMatchObject({ runs: 2, refreshed: 1, failed: 1 })
  })

  it('leaves fresh and unpopular entries alone, and lets popularity decay', async () => {
    h = await startAll({ profile: fast, overrides: warming })
    const { warmer } = h.app.services
    for (let i = 0; i < 3; i++) await postChat(h.url, chatBody())
    await postChat(h.url, chatBody({ max_tokens: 5 }))
    expect(await warmer!.run()).toMatchObject({ candidates: 1, fresh: 1, refreshed: 0 })
    // Halved once: 3 accesses now count 1.5, under the threshold of 3.
    expect(await warmer!.run()).toMatchObject({ candidates: 0 })
    expect(h.mocks.openai.stats().requests.by_route.chat).toEqual({ 200: 2 })
  })

  it('warms the requests POST /api/cache/warm lists, then they hit', async () => {
    h = await startAll({ profile: fast, overrides: warming })
    const body = { requests: [chatBody(), chatBody({ model: 'haiku' }), { model: 'nope', messages: [] }] }
    const first = await (await warm(h.url, body)).json()
    expect(first).toMatchObject({ warmed: 2, cached: 0, failed: 1 })
    expect(first.results[2]).toMatchObject({ status: 'invalid' })
    const second = await (await warm(h.url, body)).json()
    expect(second).toMatchObject({ warmed: 0, cached: 2 })
    expect((await postChat(h.url, chatBody())).headers.get('x-cache')).toBe('HIT')
    expect(h.mocks.openai.stats().requests.by_route.chat).toEqual({ 200: 1 })
  })

  it('refuses what the chat route refuses, naming the field, and sends none of it to a provider', async () => {
    h = await startAll({ profile: fast, overrides: warming })
    const user = (content: unknown) => [{ role: 'user', content }]
    const body = {
      requests: [
        chatBody({ messages: user([{ type: 'text' }]) }),
        chatBody({ tools: {} }),
        chatBody({ model: 'haiku', messages: user([null]) }),
        chatBody({ model: 'haiku', stop: 5 }),
      ],
    }
    const res = await (await warm(h.url, body)).json()
    expect(res).toMatchObject({ warmed: 0, failed: 4 })
    for (const result of res.results) expect(result).toMatchObject({ status: 'invalid' })
    expect(res.results[1].error).toMatch(/Invalid 'tools'/)
    expect(h.mocks.openai.stats().requests.total).toBe(0)
    expect(h.mocks.anthropic.stats().requests.total).toBe(0)
  })

  it('runs a warming pass over popular keys when POST /api/cache/warm has no body', async () => {
    h = await startAll({ profile: fast, overrides: warming })
    const res = await warm(h.url)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ run: { candidates: 0 }, warming: { runs: 1 } })
  })
})
