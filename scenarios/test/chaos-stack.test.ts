// The pieces a chaos run starts around the proxy: the layer-4 balancer of a rolling restart (new
// connections only to instances whose /health says 200, open ones stay where they are) and the Redis
// a fault stops and starts again on the same port.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { missingTool } from '../../ci/setup-hint.ts'
import { Balancer } from '../chaos/balancer.ts'
import { RedisServer, redisAvailable } from '../chaos/redis.ts'
import { ProcessGroup } from '../run/processes.ts'

type Backend = { name: string; url: string; healthy: boolean; server: Server }

async function backend(name: string): Promise<Backend> {
  const b = { name, url: '', healthy: true } as Backend
  b.server = createServer((req, res) => {
    if (req.url === '/health') res.writeHead(b.healthy ? 200 : 503).end()
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(name)
  })
  await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve))
  b.url = `http://127.0.0.1:${(b.server.address() as AddressInfo).port}`
  return b
}

describe('chaos stack', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('balances new connections over healthy instances and keeps open ones where they are', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const balancer = new Balancer()
    const url = await balancer.start(50)
    balancer.add('a', a.url)
    balancer.add('b', b.url)
    cleanups.push(() => balancer.close())
    for (const s of [a, b])
      cleanups.push(() =>
        new Promise((resolve) => s.server.close(resolve)).then(() => s.server.closeAllConnections()),
      )
    const fresh = async () => (await (await request(url, { reset: true })).body.text()) as 'a' | 'b'
    expect(new Set([await fresh(), await fresh(), await fresh(), await fresh()])).toEqual(new Set(['a', 'b']))

    // One kept-alive connection, then `a` starts draining.
    const agent = new Agent({ connections: 1, keepAliveTimeout: 10_000 })
    cleanups.push(() => agent.close())
    const kept = async () => (await (await request(url, { dispatcher: agent })).body.text()) as 'a' | 'b'
    const pinned = await kept()
    const drained = pinned === 'a' ? a : b
    drained.healthy = false
    await balancer.probe()
    expect(balancer.healthy()).toEqual([pinned === 'a' ? 'b' : 'a'])
    for (let i = 0; i < 4; i++) expect(await fresh()).not.toBe(pinned)
    expect(await kept()).toBe(pinned)
  })

  it('stops Redis and starts it again on the same port', async () => {
    if (!redisAvailable()) throw new Error(missingTool('redis-server', "Debian's redis-server"))
    const group = new ProcessGroup()
    const dir = (await import('node:os')).tmpdir()
    const redis = await RedisServer.start(group, dir)
    cleanups.push(async () => {
      await group.stopAll()
      redis.cleanup()
    })
    const client = () =>
      new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null }).on(
        'error',
        () => {},
      )
    const ping = async () => {
      const c = client()
      try {
        await c.connect()
        return await c.ping()
      } catch {
        return 'down'
      } finally {
        c.disconnect()
      }
    }
    expect(await ping()).toBe('PONG')
    const first = redis.process!.pid
    await redis.down()
    expect(await ping()).toBe('down')
    await redis.up()
    expect(redis.process!.pid).not.toBe(first)
    expect(await ping()).toBe('PONG')
  })
})
