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
    let answered = 0
    const counting = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        answered++
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    servers.push(counting)
    await new Promise<void>((resolve) => counting.listen(0, '127.0.0.1', resolve))
    // The measured part starts once, after the warm-up's arrivals (0.2 s at 200/s: 40 to each target).
    const starts: number[] = []
    const [a, b, c] = await openLoop(
      [
        { name: 'plain', url: plain, body },
        { name: 'timed', url: timed, body },
        { name: 'counting', url: `http://127.0.0.1:${(counting.address() as AddressInfo).port}`, body },
      ],
      { rate: 200, seconds: 0.5, warmupSeconds: 0.2, onMeasureStart: () => starts.push(answered) },
    )
    for (const r of [a, b, c]) {
      expect(r.sent + r.dropped).toBe(100)
      expect(r.ok).toBe(r.sent)
      expect(r.latency.p50).toBeGreaterThan(0)
    }
    expect(starts).toHaveLength(1)
    expect(starts[0]).toBeGreaterThan(0)
    expect(starts[0]).toBeLessThanOrEqual(40)
    expect(a.own).toBeUndefined()
    expect(b.own).toMatchObject({ p50: 0.25, p99: 0.25 })
  })
})
