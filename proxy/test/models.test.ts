import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock } from './fake-clock.ts'
import { CLIENT_KEY, type Harness, startAll } from './helpers.ts'

const get = (url: string, path: string) =>
  fetch(`${url}${path}`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })
const listCalls = (h: Harness, wire: 'openai' | 'anthropic') =>
  h.mocks[wire].stats().requests.by_route.models ?? {}
type Entry = {
  id: string
  kind: string
  endpoints: string[]
  providers: string[]
  owned_by: string
  alias_of?: string
}

describe('GET /v1/models', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('lists exactly the routed names and aliases with the routes that answer them, from the model cache once warm', async () => {
    h = await startAll({
      overrides: {
        models: { 'text-embedding-3-small': { kind: 'embedding', deployments: [{ provider: 'openai-a' }] } },
      },
    })
    const res = await get(h.url, '/v1/models')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache')).toBe('MISS')
    const { object, data } = (await res.json()) as { object: string; data: Entry[] }
    expect(object).toBe('list')
    const byId = Object.fromEntries(data.map((m) => [m.id, m]))
    const chat = ['/v1/chat/completions', '/v1/messages', '/v1/responses']
    expect(byId['gpt-4o-mini']).toMatchObject({
      kind: 'chat',
      endpoints: chat,
      providers: ['openai-a'],
      owned_by: 'mock-openai',
    })
    expect(byId.haiku).toMatchObject({
      alias_of: 'claude-3-5-haiku-latest',
      endpoints: chat,
      providers: ['anthropic-a'],
      owned_by: 'anthropic',
    })
    expect(byId.resilient).toMatchObject({ providers: ['openai-a', 'anthropic-a'] })
    expect(byId['text-embedding-3-small']).toMatchObject({ kind: 'embedding', endpoints: ['/v1/embeddings'] })
    // A provider's model no route uses is not listed: every listed model is usable.
    expect(byId['claude-sonnet-4']).toBeUndefined()
    expect(data.map((m) => m.id).sort()).toEqual(
      ['claude-3-5-haiku-latest', 'gpt-4o-mini', 'haiku', 'resilient', 'text-embedding-3-small'].sort(),
    )

    const again = await get(h.url, '/v1/models')
    expect(again.headers.get('x-cache')).toBe('HIT')
    expect(listCalls(h, 'openai')).toEqual({ 200: 1 })
    expect(listCalls(h, 'anthropic')).toEqual({ 200: 1 })
  })

  it('filters by provider, owner and substring', async () => {
    h = await startAll()
    const ids = async (query: string) =>
      ((await (await get(h.url, `/v1/models${query}`)).json()).data as Entry[]).map((m) => m.id).sort()
    expect(await ids('?provider=anthropic-a')).toEqual(['claude-3-5-haiku-latest', 'haiku', 'resilient'])
    expect(await ids('?owned_by=anthropic')).toEqual(['claude-3-5-haiku-latest', 'haiku'])
    expect(await ids('?endpoint=/v1/embeddings')).toEqual([])
    expect(await ids('?q=HAIKU')).toEqual(['claude-3-5-haiku-latest', 'haiku'])
    expect(await ids('?q=mini&provider=openai-a')).toEqual(['gpt-4o-mini'])
  })

  it('answers a partial list with a warning when a provider fails, not a 500', async () => {
    h = await startAll()
    h.mocks.openai.setProfile({ faults: [{ type: 'status', status: 500, rate: 1, routes: ['models'] }] })
    const res = await get(h.url, '/v1/models')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-models-partial')).toBe('true')
    const body = await res.json()
    expect(body.warnings).toEqual([{ provider: 'openai-a', message: expect.stringContaining('500') }])
    const ids = (body.data as Entry[]).map((m) => m.id)
    expect(ids).toContain('claude-3-5-haiku-latest')
    expect(ids).toContain('gpt-4o-mini') // routed names are always listed
  })

  it('fetches the lists again once the model cache TTL has passed', async () => {
    const clock = new FakeClock()
    h = await startAll({ deps: { clock }, overrides: { performance: { cache_ttl_multiplier: 1 } } })
    await get(h.url, '/v1/models')
    clock.advance(299_000)
    expect((await get(h.url, '/v1/models')).headers.get('x-cache')).toBe('HIT')
    clock.advance(2_000)
    expect((await get(h.url, '/v1/models')).headers.get('x-cache')).toBe('MISS')
    expect(listCalls(h, 'openai')).toEqual({ 200: 2 })
  })

  it('answers one model by id, 404 for an unknown one', async () => {
    h = await startAll()
    expect(await (await get(h.url, '/v1/models/haiku')).json()).toMatchObject({
      id: 'haiku',
      alias_of: 'claude-3-5-haiku-latest',
    })
    const missing = await get(h.url, '/v1/models/nope')
    expect(missing.status).toBe(404)
    expect((await missing.json()).error.code).toBe('model_not_found')
  })
})
