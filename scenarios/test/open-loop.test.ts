import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { openLoop } from '../bench/open-loop.ts'

let servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  servers = []
})

/** A target on loopback that answers every chat request with a fixed body, and maybe a Server-Timing. */
async function target(serverTiming?: string): Promise<string> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (serverTiming) headers['server-timing'] = serverTiming
      res.writeHead(200, headers).end('{"ok":true}')
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('the open-model generator', () => {
  it("sends every arrival and reads a target's own time from its Server-Timing", async () => {
    const plain = await target()
    const timed = await target('proxy;dur=0.25, upstream;dur=1.50')
    const body = '{"model":"m"}'
    const [a, b] = await openLoop(
      [
        { name: 'plain', url: plain, body },
        { name: 'timed', url: timed, body },
      ],
      { rate: 200, seconds: 0.5, warmupSeconds: 0.2 },
    )
    for (const r of [a, b]) {
      expect(r.sent + r.dropped).toBe(100)
      expect(r.ok).toBe(r.sent)
      expect(r.latency.p50).toBeGreaterThan(0)
    }
    expect(a.own).toBeUndefined()
    expect(b.own).toMatchObject({ p50: 0.25, p99: 0.25 })
  })
})
