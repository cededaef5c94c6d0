import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, type TestContext } from 'vitest'
import { type Mocks, startMocks } from '../../mock-providers/src/index.ts'
import { ADMIN_KEY, chatBody, postChat, sseData, startProxy } from './helpers.ts'
import { startRedisServer, type TestRedis, testRedis } from './redis-server.ts'

// The shared tier against a real Redis: REDIS_URL, else a redis-server of our own, else a
// container; with none of them the tests are skipped, and say why.

interface Instance {
  app: FastifyInstance
  url: string
}

const fast = { latency: { ttft: 0, itl: 0 } }

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`gave up waiting until ${what}`)
}

describe('Redis as the shared second tier', () => {
  let mocks: Mocks | undefined
  let redis: TestRedis | undefined
  const instances: Instance[] = []
  const clients: Redis[] = []

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((i) => i.app.close()))
    for (const c of clients.splice(0)) c.disconnect()
    await mocks?.close()
    await redis?.stop()
    mocks = undefined
    redis = undefined
  })

  async function setUp(
    ctx: TestContext,
    own: boolean,
    count: number,
    timeout = 0.5,
  ): Promise<{ prefix: string; r: TestRedis }> {
    const found = await testRedis({ own })
    if (typeof found === 'string') {
      console.warn(`[cache-redis] SKIPPED "${ctx.task.name}": ${found}`)
      ctx.skip(found)
    }
    redis = found as TestRedis
    mocks = await startMocks({ profile: fast, seed: 7 })
    // A prefix of its own: a shared REDIS_URL may hold other tests' keys.
    const prefix = `test-${randomUUID()}:`
    for (let i = 0; i < count; i++) {
      const instance = await startProxy(
        mocks,
        {
          caching: {
            enabled: true,
            warming: { enabled: false },
            redis: { url: redis.url, key_prefix: prefix, operation_timeout: timeout },
          },
        },
        { instanceId: `instance-${i}` },
      )
      instances.push(instance)
      await until(() => instance.app.services.caches.redis!.connected, `instance ${i} connected to Redis`)
    }
    return { prefix, r: redis }
  }

  function raw(url: string): Redis {
    const client = new Redis(url, { maxRetriesPerRequest: 1 })
    clients.push(client)
    return client
  }

  const chatCalls = () => mocks!.openai.stats().requests.by_route.chat ?? {}

  it('lets instance B answer from what instance A stored, with no upstream call', async (ctx) => {
    const { prefix, r } = await setUp(ctx, false, 2)
    const [a, b] = instances
    const first = await postChat(a.url, chatBody())
    expect(first.headers.get('x-cache')).toBe('MISS')
    const body = await first.text()
    const keys = raw(r.url)
    await until(async () => (await keys.keys(`${prefix}rc:*`)).length === 1, 'the entry reached Redis')
    const fromB = await postChat(b.url, chatBody())
    expect(fromB.headers.get('x-cache')).toBe('HIT')
    expect(await fromB.text()).toBe(body)
    expect(chatCalls()).toEqual({ 200: 1 })
    // B copied it into its own first tier: the next hit does not need Redis.
    expect(b.app.services.caches.response.l1.size).toBe(1)
    expect(b.app.services.caches.snapshot().caches.response).toMatchObject({ l2_hits: 1 })
  })

  it('carries streamed entries across instances and replays them identically', async (ctx) => {
    const { prefix, r } = await setUp(ctx, false, 2)
    const [a, b] = instances
    const original = await sseData(await postChat(a.url, chatBody({ stream: true })))
    await until(async () => (await raw(r.url).keys(`${prefix}rc:*`)).length === 1, 'the entry reached Redis')
    const replay = await postChat(b.url, chatBody({ stream: true }))
    expect(replay.headers.get('x-cache')).toBe('HIT')
    expect(await sseData(replay)).toEqual(original)
    // A plain request on the other instance: the completion folded from the shared events.
    const plain = await postChat(b.url, chatBody())
    expect(plain.headers.get('x-cache')).toBe('HIT')
    const text = original
      .filter((d) => d !== '[DONE]')
      .map((d) => JSON.parse(d).choices[0]?.delta?.content ?? '')
      .join('')
    expect(text.length).toBeGreaterThan(0)
    expect((await plain.json()).choices[0].message.content).toBe(text)
  })

  it('drops the entries of every instance when one of them invalidates', async (ctx) => {
    const { prefix, r } = await setUp(ctx, false, 2)
    const [a, b] = instances
    await postChat(a.url, chatBody())
    await postChat(a.url, chatBody({ model: 'haiku' }))
    const keys = raw(r.url)
    await until(async () => (await keys.keys(`${prefix}rc:*`)).length === 2, 'both entries reached Redis')
    await postChat(b.url, chatBody())
    await postChat(b.url, chatBody({ model: 'haiku' }))
    expect(b.app.services.caches.response.l1.size).toBe(2)

    const res = await fetch(`${a.url}/api/cache?provider=openai-a`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    })
    expect((await res.json()).deleted).toMatchObject({ response: 1, response_shared: 1 })
    await until(() => b.app.services.caches.response.l1.size === 1, 'B dropped the entry')
    expect(b.app.services.caches.snapshot().caches.response.evictions).toMatchObject({ remote: 1 })
    expect(await keys.keys(`${prefix}rc:*`)).toHaveLength(1)
    expect((await postChat(b.url, chatBody())).headers.get('x-cache')).toBe('MISS')
    expect((await postChat(b.url, chatBody({ model: 'haiku' }))).headers.get('x-cache')).toBe('HIT')
  })

  it('keeps serving without a client error when Redis dies, says so in /health, and reconnects', async (ctx) => {
    const { r } = await setUp(ctx, true, 1)
    const [a] = instances
    await postChat(a.url, chatBody())
    await r.kill!()
    await until(() => !a.app.services.caches.redis!.connected, 'the proxy noticed')

    const hit = await postChat(a.url, chatBody())
    expect(hit.status).toBe(200)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    for (const body of [chatBody({ max_tokens: 7 }), chatBody({ max_tokens: 8, stream: true })]) {
      const res = await postChat(a.url, body)
      expect(res.status).toBe(200)
      expect(res.headers.get('x-cache')).toBe('MISS')
      await res.text()
    }
    const health = a.app.services.caches.health()
    expect(health.status).toBe('degraded')
    expect(health.reason).toMatch(/redis unreachable/)
    const report = await (await fetch(`${a.url}/health`)).json()
    expect(report.checks.cache).toMatchObject({ status: 'degraded' })

    // Back on the same port: the client reconnects by itself and the tier is healthy again.
    if (r.how === 'redis-server') {
      redis = await startRedisServer(Number(new URL(r.url).port))
      await until(() => a.app.services.caches.redis!.connected, 'the proxy reconnected')
      await until(() => a.app.services.caches.health().status === 'ok', 'the tier is healthy')
    }
  })

  it('answers from the providers when Redis is too slow, and reports it', async (ctx) => {
    const { prefix, r } = await setUp(ctx, true, 2, 0.05)
    if (r.how !== 'redis-server') ctx.skip('needs a redis-server of its own (DEBUG SLEEP)')
    const [a, b] = instances
    await postChat(a.url, chatBody())
    const keys = raw(r.url)
    await until(async () => (await keys.keys(`${prefix}rc:*`)).length === 1, 'the entry reached Redis')
    // Redis stops answering for a second; B's lookup gives up after 50 ms and asks the provider.
    const sleeping = keys.call('DEBUG', 'SLEEP', '1').catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 100)) // let Redis start sleeping
    const res = await postChat(b.url, chatBody())
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache')).toBe('MISS')
    expect(chatCalls()).toEqual({ 200: 2 })
    const health = b.app.services.caches.health()
    expect(health.status).toBe('degraded')
    expect(health.reason).toMatch(/slower than 50 ms/)
    await sleeping
  })
})
