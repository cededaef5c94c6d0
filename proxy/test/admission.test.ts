import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Mocks } from '../../mock-providers/src/index.ts'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { CLIENT_KEY, chatBody, type Harness, postChat, startAll, startProxy } from './helpers.ts'

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
  let h: Harness | undefined
  let mock: ChildProcess | undefined
  let closeProxy: (() => Promise<void>) | undefined
  afterEach(async () => {
    await h?.close()
    await closeProxy?.()
    mock?.kill()
    ;[h, mock, closeProxy] = [undefined, undefined, undefined]
  })

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

  it('serves callers whose slots freed while the proxy was not running, instead of refusing them', async () => {
    // The provider in a process of its own, so that it answers while this one (the proxy's) is held.
    const dir = mkdtempSync(join(tmpdir(), 'admission-'))
    writeFileSync(join(dir, 'slow.json'), JSON.stringify({ latency: { ttft: 300, itl: 0 } }))
    mock = spawn(process.execPath, [
      'mock-providers/src/cli.ts',
      ...['--profile', join(dir, 'slow.json'), '--openai-port', '0', '--anthropic-port', '0'],
    ])
    const mockUrl = await new Promise<string>((resolve, reject) => {
      let out = ''
      mock?.stdout?.on('data', (d) => {
        out += d
        const found = /mock-openai listening on (http:\/\/\S+)/.exec(out)
        if (found) resolve(found[1] as string)
      })
      mock?.once('exit', (code) => reject(new Error(`the mock exited (${code}): ${out}`)))
    })
    const mocks = { openai: { url: mockUrl }, anthropic: { url: mockUrl } } as unknown as Mocks
    const proxy = await startProxy(mocks, { http_client: { pool_limits: { max_connections: 4 } } })
    closeProxy = () => proxy.app.close()
    const { port } = new URL(proxy.url)
    const sockets = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<Socket>((resolve, reject) => {
            const socket = connect(Number(port), '127.0.0.1', () => resolve(socket))
            socket.once('error', reject)
          }),
      ),
    )
    // Every slot taken by a call the provider answers 300 ms after it arrives.
    const holders = [0, 1, 2, 3].map((i) => postChat(proxy.url, chatBody({ user: `holder-${i}` })))
    for (let seen = 0; seen < 4; await new Promise((r) => setTimeout(r, 5)))
      seen = (await (await fetch(`${mockUrl}/__mock/stats`)).json()).in_flight
    // Four more callers (on connections already open) are written now; then the proxy's process does
    // not run for 600 ms (a long collection, a VM not scheduled): the four answers come meanwhile,
    // after the callers, and the proxy reads both in its next turn, the callers first. No slot
    // freed for 600 ms, but four are free in the same turn: the callers must be served.
    const body = JSON.stringify(chatBody())
    const answers = sockets.map((socket) => {
      const text = new Promise<string>((resolve) => {
        let data = ''
        socket.setEncoding('utf8')
        socket.on('data', (d) => {
          data += d
          if (/\r\n\r\n[\s\S]*\}\s*$/.test(data)) resolve(data)
        })
        socket.on('close', () => resolve(data))
      })
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `authorization: Bearer ${CLIENT_KEY}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
      return text
    })
    const until = performance.now() + 600
    while (performance.now() < until) {
      // held
    }
    for (const res of await Promise.all(holders)) expect(res.status).toBe(200)
    const statuses = (await Promise.all(answers)).map((text) => parseRaw(text).status)
    for (const socket of sockets) socket.destroy()
    expect(statuses).toEqual([200, 200, 200, 200])
    const providers = await (await fetch(`${proxy.url}/health/providers`)).json()
    expect(providers.providers['openai-a'].admission).toMatchObject({ refused_total: 0, waited_total: 4 })
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
