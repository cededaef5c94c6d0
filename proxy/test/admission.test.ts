import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { CLIENT_KEY, chatBody, type Harness, postChat, startAll } from './helpers.ts'

// Load shedding and the edges of HTTP: an overloaded proxy answers at once instead of queueing
// without end, and every refusal, down to those of the HTTP parser, is in the OpenAI shape.

const slow: ProfileInput = { latency: { ttft: 400, itl: 0 } }

async function burst(url: string, n: number) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      postChat(url, chatBody({ messages: [{ role: 'user', content: `q${i}` }] })).then(async (res) => ({
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: await res.json(),
      })),
    ),
  )
}

/** Writes raw bytes and returns what the proxy answers before it closes the connection. */
function raw(url: string, bytes: string, closeAfterMs?: number): Promise<string> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (d) => {
      data += d
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(data))
    socket.write(bytes)
    if (closeAfterMs) setTimeout(() => socket.destroy(), closeAfterMs)
  })
}

function parseRaw(text: string) {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))
  return { status, body, close: /\r\nconnection: close\r\n/i.test(text) }
}

describe('admission', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('sheds requests over server.worker_connections with 503 overloaded and Retry-After; health says saturated', async () => {
    h = await startAll({ profile: slow, overrides: { server: { worker_connections: 5 } } })
    const pending = burst(h.url, 20)
    await new Promise((r) => setTimeout(r, 150))
    const health = await fetch(`${h.url}/health`)
    const results = await pending
    expect(results.filter((r) => r.status === 200)).toHaveLength(5)
    const shed = results.filter((r) => r.status === 503)
    expect(shed).toHaveLength(15)
    for (const r of shed) {
      expect(r.body.error.code).toBe('overloaded')
      expect(r.retryAfter).toBe('1')
    }
    expect(health.status).toBe(503)
    expect((await health.json()).checks.admission).toMatchObject({ saturated: true, in_flight: 5, limit: 5 })
    const after = await (await fetch(`${h.url}/health`)).json()
    expect(after.checks.admission).toMatchObject({ saturated: false, shed_recently: true, shed_total: 15 })
  })

  it('queues calls over a provider pool briefly and refuses the rest at once', async () => {
    h = await startAll({
      profile: slow,
      overrides: {
        http_client: {
          pool_limits: { max_connections: 2 },
          admission: { queue_size: 2, queue_timeout: 5 },
        },
      },
    })
    const results = await burst(h.url, 10)
    expect(results.filter((r) => r.status === 200)).toHaveLength(4)
    const refused = results.filter((r) => r.status === 503)
    expect(refused).toHaveLength(6)
    for (const r of refused) expect(r.body.error.code).toBe('overloaded')
    const providers = await (await fetch(`${h.url}/health/providers`)).json()
    expect(providers.providers['openai-a'].admission).toMatchObject({ refused_total: 6, waited_total: 2 })
  })

  it('answers 408 in the OpenAI shape when a request body never finishes', async () => {
    h = await startAll({ overrides: { server: { headers_timeout: 0.5, request_timeout: 1 } } })
    const text = await raw(
      h.url,
      'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
        `authorization: Bearer ${CLIENT_KEY}\r\ncontent-length: 100\r\n\r\n{"model":`,
    )
    const res = parseRaw(text)
    expect(res.status).toBe(408)
    expect(res.body.error).toMatchObject({ code: 'request_timeout', type: 'invalid_request_error' })
  })

  it('answers malformed HTTP in the OpenAI shape and closes the connection', async () => {
    h = await startAll()
    const cases: [string, number, string][] = [
      ['POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n', 400, 'invalid_request'],
      [
        'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'invalid_request',
      ],
      [
        `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'request_header_too_large',
      ],
      ['NOT-A-METHOD / HTTP/1.1\r\n\r\n', 400, 'invalid_request'],
    ]
    for (const [bytes, status, code] of cases) {
      const res = parseRaw(await raw(h.url, bytes))
      expect(res.status, bytes.slice(0, 40)).toBe(status)
      expect(res.body.error.code).toBe(code)
      expect(res.close).toBe(true)
    }
  })
})
