// The minimal gateways `npm run bench` measures the proxy against relay a whole answer, plain and
// streamed, exactly as the provider sent it: a reference that dropped or mangled bytes would
// be cheaper for the wrong reason and make every ratio a lie.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHAT_REQUEST, MOCK_READY, startMock, streamRequest } from '../bench/common.ts'
import { REFERENCES, startReferences, type Target } from '../bench/references.ts'
import { type Service, startService } from '../bench/services.ts'

const services: Service[] = []
const start = async (options: Parameters<typeof startService>[0]) => {
  const service = await startService(options)
  services.push(service)
  return service
}
let mock: Service
let references: Target[]

beforeAll(async () => {
  mock = await startMock(start, { profile: 'zero' })
  references = await startReferences(start, mock.url)
}, 60_000)
afterAll(() => Promise.all(services.map((s) => s.stop())))

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}

/** An answer without what differs between two calls (ids and timestamps). */
const shape = (text: string) =>
  text.replace(/"id":"[^"]*"/g, '"id":""').replace(/"created":\d+/g, '"created":0')

describe('the reference gateways of npm run bench', () => {
  it('are every one of them, fastify on both clients and node:http', () => {
    expect(references.map((r) => r.name)).toEqual(REFERENCES.map((r) => r.name))
    expect(references.map((r) => r.name)).toContain('fastify 5 + undici 8 dispatch')
  })

  it('relay a plain answer and a stream as the mock sent them', async () => {
    const plain = await post(mock.url, CHAT_REQUEST)
    const stream = await post(mock.url, streamRequest(16))
    expect(stream.text).toMatch(/data: \[DONE\]\n\n$/)
    for (const r of references) {
      const a = await post(r.url, CHAT_REQUEST)
      expect({ name: r.name, status: a.status, type: a.type }).toEqual({
        name: r.name,
        status: 200,
        type: plain.type,
      })
      expect(shape(a.text)).toBe(shape(plain.text))
      const s = await post(r.url, streamRequest(16))
      expect({ name: r.name, status: s.status, type: s.type }).toEqual({
        name: r.name,
        status: 200,
        type: stream.type,
      })
      expect(shape(s.text)).toBe(shape(stream.text))
    }
  })

  it('answer 404 for a model they do not route', async () => {
    for (const r of references)
      expect((await post(r.url, { ...CHAT_REQUEST, model: 'nope' })).status).toBe(404)
  })
})

describe('a benchmark service', () => {
  it('is found at its own address when its log file already names another run', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'service-log-')), 'mock.log')
    writeFileSync(logFile, 'mock-openai listening on http://127.0.0.1:9\n')
    const again = await start({
      name: 'mock again',
      script: 'mock-providers/src/cli.ts',
      args: ['--profile', 'zero', '--openai-port', '0', '--anthropic-port', '0'],
      ready: MOCK_READY,
      logFile,
    })
    expect(again.url).not.toBe('http://127.0.0.1:9')
    expect((await post(again.url, CHAT_REQUEST)).status).toBe(200)
  })
})
