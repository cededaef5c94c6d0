import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { HostileClients, hostileBody, hostileText } from '../chaos/hostile.ts'

type Seen = { path: string; auth: string | undefined; body: string }

async function upstream(status: number, seen: Seen[]): Promise<Server> {
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    seen.push({ path: req.url ?? '', auth: req.headers.authorization, body })
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

describe('hostile clients (chaos fault hostile_prompts)', () => {
  let server: Server | undefined
  afterEach(() => server?.close())

  it("builds the tokenizer's worst prompts at the size asked", () => {
    expect(hostileText({ text: 'one_word', size_kb: 3 })).toBe('z'.repeat(3072))
    const b64 = hostileText({ text: 'base64', size_kb: 2 })
    expect(b64).toHaveLength(2048)
    expect(b64).toMatch(/^[A-Za-z0-9+/]+$/)
    const condense = JSON.parse(
      hostileBody({ route: 'condense', text: 'one_word', size_kb: 1, clients: 1, model: 'm' }),
    )
    expect(condense).toMatchObject({ model: 'm', target_tokens: 100_000_000 })
    expect(condense.messages[0].content).toHaveLength(1024)
  })

  it("builds the JSON parser's worst requests at the size asked: arrays nested deep, empty objects", () => {
    const spec = { route: 'chat', size_kb: 64, clients: 1, model: 'm' } as const
    const deep = hostileBody({ ...spec, text: 'deep_json' })
    const wide = hostileBody({ ...spec, text: 'wide_json' })
    for (const body of [deep, wide]) {
      expect(body.length).toBeLessThanOrEqual(64 * 1024)
      expect(body.length).toBeGreaterThan(64 * 1024 - 8)
      expect(JSON.parse(body)).toMatchObject({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
    }
    let levels = 0
    for (let value = JSON.parse(deep).metadata; Array.isArray(value); value = value[0]) levels++
    expect(levels).toBeGreaterThan(32_000)
    const objects = JSON.parse(wide).metadata
    expect(objects.length).toBeGreaterThan(21_000)
    expect(objects.every((o: object) => Object.keys(o).length === 0)).toBe(true)
  })

  it('send back to back with the key until stopped, and say what they were answered', async () => {
    const seen: Seen[] = []
    server = await upstream(200, seen)
    const clients = new HostileClients(
      { route: 'condense', text: 'one_word', size_kb: 64, clients: 2, model: 'gpt-4o-mini' },
      `${urlOf(server)}/`,
      'k-1',
    )
    while (seen.length < 6) await new Promise((resolve) => setTimeout(resolve, 10))
    const said = await clients.stop()
    const finished = seen.length
    expect(said).toMatch(/^\d+ answered: 200 x\d+$/)
    expect(Number(said.split(' ')[0])).toBeGreaterThanOrEqual(finished - 2)
    expect(seen.every((s) => s.path === '/v1/context/condense' && s.auth === 'Bearer k-1')).toBe(true)
    expect(JSON.parse(seen[0].body).messages[0].content).toHaveLength(64 * 1024)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(seen.length).toBe(finished)
  })
})
