import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setupServer } from 'msw/node'
import OpenAI from 'openai'
import { Pool } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { createMswHandlers, createMswNetwork, type MswMock, startMockServer } from '../src/index.ts'
import { CHAT, FakeTime, MESSAGES, waitUntil } from './helpers.ts'

const cleanups: Array<() => unknown> = []

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

function later(fn: () => unknown): void {
  cleanups.push(fn)
}

/** Enables an msw network that sees undici; disabled after the test. */
async function network(mock: MswMock) {
  const net = createMswNetwork(mock.handlers)
  await net.enable()
  later(() => net.disable())
  later(() => mock.close())
  return net
}

/** setupServer for one test; closing twice is harmless. */
function listen(mock: MswMock, onUnhandledFrame: 'error' | 'bypass' = 'error') {
  const server = setupServer(...mock.handlers)
  server.listen({ onUnhandledFrame })
  later(() => {
    if (server.readyState !== 0) server.close()
  })
  return server
}

/** A loopback port where nothing listens. */
async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

function pool(origin: string): Pool {
  const p = new Pool(origin, { connections: 4 })
  later(() => p.destroy())
  return p
}

async function post(p: Pool, path: string, body: unknown) {
  const res = await p.request({
    method: 'POST',
    path,
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

describe('msw handlers (in-process adapter)', () => {
  it('answer exactly as the node:http server does for the same seed, clock and request', async () => {
    const time = new FakeTime()
    const msw = createMswHandlers({ wire: 'openai', profile: 'baseline', seed: 3, clock: time, timers: time })
    const server = listen(msw)
    const viaMsw = await fetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify(CHAT),
    })
    const node = await startMockServer({
      wire: 'openai',
      profile: 'baseline',
      seed: 3,
      clock: new FakeTime(),
      timers: new FakeTime(),
    })
    later(() => node.close())
    server.close()
    const viaNode = await fetch(`${node.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(CHAT),
    })
    expect(viaMsw.status).toBe(200)
    expect(await viaMsw.text()).toBe(await viaNode.text())
  })

  it('stream a forced tool call exactly as the node:http server does', async () => {
    const body = JSON.stringify({
      ...MESSAGES,
      stream: true,
      tools: [
        { name: 'lookup', input_schema: { type: 'object', properties: { query: { type: 'string' } } } },
      ],
      tool_choice: { type: 'any' },
    })
    const time = new FakeTime()
    const msw = createMswHandlers({
      wire: 'anthropic',
      profile: 'baseline',
      seed: 3,
      clock: time,
      timers: time,
    })
    const server = listen(msw)
    const viaMsw = await (
      await fetch('https://api.anthropic.com/v1/messages', { method: 'POST', body })
    ).text()
    server.close()
    const nodeTime = new FakeTime() // a stream's waits are checked against the clock: one FakeTime for both
    const node = await startMockServer({
      wire: 'anthropic',
      profile: 'baseline',
      seed: 3,
      clock: nodeTime,
      timers: nodeTime,
    })
    later(() => node.close())
    const viaNode = await (await fetch(`${node.url}/v1/messages`, { method: 'POST', body })).text()
    expect(viaMsw).toContain('"type":"input_json_delta"')
    expect(viaMsw).toBe(viaNode)
  })

  it('serve the OpenAI SDK through setupServer, streaming included, and the control API', async () => {
    const msw = createMswHandlers({ wire: 'openai', profile: 'zero' })
    listen(msw)
    const client = new OpenAI({ apiKey: 'sk-test', maxRetries: 0 })
    const whole = await client.chat.completions.create({
      ...CHAT,
      messages: [{ role: 'user', content: 'hi' }],
    })
    const chunks = []
    for await (const chunk of await client.chat.completions.create({
      ...CHAT,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    })) {
      chunks.push(chunk)
    }
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      whole.choices[0].message.content,
    )
    const stats = await (await fetch('https://api.openai.com/__mock/stats')).json()
    expect(stats.requests.by_route.chat).toEqual({ '200': 2 })
  })
})

describe('msw + undici Pool', () => {
  it('setupServer does not see an undici Pool; createMswNetwork does', async () => {
    const origin = `http://127.0.0.1:${await closedPort()}`
    const msw = createMswHandlers({ wire: 'openai', profile: 'zero', baseUrl: origin })
    const server = listen(msw, 'bypass')
    const viaFetch = await fetch(`${origin}/v1/models`)
    expect(viaFetch.status).toBe(200) // fetch is intercepted...
    const missed = await pool(origin)
      .request({ method: 'GET', path: '/v1/models' })
      .catch((e: unknown) => e as Error & { code?: string })
    expect((missed as { code?: string }).code).toBe('ECONNREFUSED') // ...the Pool is not
    server.close()

    await network(msw)
    const res = await pool(origin).request({ method: 'GET', path: '/v1/models' })
    expect(res.statusCode).toBe(200)
    expect((await res.body.json()) as object).toMatchObject({ object: 'list' })
  })

  it('answers a Pool chat completion and an SSE stream read chunk by chunk', async () => {
    const msw = createMswHandlers({ wire: 'openai', profile: 'baseline', baseUrl: 'http://mock-openai.test' })
    await network(msw)
    const p = pool('http://mock-openai.test')
    const whole = await post(p, '/v1/chat/completions', CHAT)
    expect(JSON.parse(whole.text).object).toBe('chat.completion')
    const res = await p.request({
      method: 'POST',
      path: '/v1/chat/completions',
      body: JSON.stringify({ ...CHAT, stream: true }),
    })
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    let text = ''
    for await (const chunk of res.body) text += chunk.toString()
    const data = text
      .split('\n\n')
      .filter(Boolean)
      .map((b) => b.slice(6))
    expect(data[data.length - 1]).toBe('[DONE]')
    const content = data
      .slice(0, -1)
      .map((d) => JSON.parse(d).choices[0].delta.content ?? '')
      .join('')
    expect(content).toBe(JSON.parse(whole.text).choices[0].message.content)
  })

  it('shows faults to a Pool client: cut stream errors without message_stop, reset fails the request', async () => {
    const msw = createMswHandlers({
      wire: 'anthropic',
      baseUrl: 'http://mock-anthropic.test',
      profile: {
        name: 'faulty',
        faults: [
          { type: 'cut', after_chunks: 4, on_requests: [1] },
          { type: 'reset', on_requests: [2] },
        ],
      },
    })
    await network(msw)
    const p = pool('http://mock-anthropic.test')
    const res = await p.request({
      method: 'POST',
      path: '/v1/messages',
      body: JSON.stringify({ ...MESSAGES, stream: true }),
    })
    let text = ''
    let error: unknown = null
    try {
      for await (const chunk of res.body) text += chunk.toString()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(Error)
    expect(text.match(/^event: .*/gm)).toEqual([
      'event: message_start',
      'event: content_block_start',
      'event: ping',
      'event: content_block_delta',
    ])
    const reset = await post(p, '/v1/messages', MESSAGES).catch((e: unknown) => e)
    expect(reset).toBeInstanceOf(Error)
    expect(msw.stats()).toMatchObject({ closed_by_mock: 2, faults: { cut: 1, reset: 1 } })
  })

  it('holds a hanging request until the client aborts, and counts the abort', async () => {
    const msw = createMswHandlers({
      wire: 'openai',
      baseUrl: 'http://mock-openai.test',
      profile: { name: 'hang', faults: [{ type: 'hang', rate: 1 }] },
    })
    await network(msw)
    const error = await pool('http://mock-openai.test')
      .request({
        method: 'POST',
        path: '/v1/chat/completions',
        body: JSON.stringify(CHAT),
        signal: AbortSignal.timeout(100),
      })
      .catch((e: unknown) => e as Error)
    expect((error as Error).name).toMatch(/TimeoutError|AbortError/)
    await waitUntil(() => msw.stats().aborted === 1, 'the abort to reach the handler')
  })

  it.each([
    { wire: 'openai', stream: true, after: 1, keepAlive: ': keep-alive\n\n' },
    { wire: 'anthropic', stream: false, after: 0, keepAlive: ' ' },
  ] as const)(
    'stall ($wire, stream $stream): after_chunks events, then keep-alives every interval, no end; the client leaving frees the timer',
    async ({ wire, stream, after, keepAlive }) => {
      const time = new FakeTime(false)
      const origin = `http://mock-${wire}.test`
      const msw = createMswHandlers({
        wire,
        baseUrl: origin,
        profile: { name: 'stall', faults: [{ type: 'stall', after_chunks: after, interval: '3s', rate: 1 }] },
        clock: time,
        timers: time,
      })
      await network(msw)
      const res = await pool(origin).request({
        method: 'POST',
        path: wire === 'openai' ? '/v1/chat/completions' : '/v1/messages',
        body: JSON.stringify({ ...(wire === 'openai' ? CHAT : MESSAGES), stream }),
      })
      expect(res.statusCode).toBe(200)
      let text = ''
      let ended = false
      res.body.on('data', (chunk: Buffer) => {
        text += chunk.toString()
      })
      res.body.on('end', () => {
        ended = true
      })
      res.body.on('error', () => {})
      // The interceptor sends the head with the first body bytes: with nothing before the stall,
      // the first keep-alive comes at once.
      const head = after === 0 ? keepAlive : undefined
      const events = () => text.split('\n\n').filter((e) => e !== '').length
      await waitUntil(
        () => time.pending.length === 1 && (head === undefined ? events() === after : text === head),
        'the first keep-alive to be due',
      )
      const before = text
      for (let i = 1; i <= 2; i++) {
        expect(time.pending).toEqual([3000])
        time.fireNext()
        await waitUntil(() => text === before + keepAlive.repeat(i), `keep-alive ${i}`)
      }
      expect(ended).toBe(false)
      expect(msw.stats()).toMatchObject({ in_flight: 1, faults: { stall: 1 } })
      res.body.destroy()
      await waitUntil(() => msw.stats().aborted === 1, 'the stall to be counted aborted')
      expect(time.pending).toEqual([])
    },
  )

  it('close() ends a stall', async () => {
    const time = new FakeTime(false)
    const msw = createMswHandlers({
      wire: 'openai',
      baseUrl: 'http://mock-openai.test',
      profile: { name: 'stall', faults: [{ type: 'stall', rate: 1 }] },
      clock: time,
      timers: time,
    })
    await network(msw)
    const res = await pool('http://mock-openai.test').request({
      method: 'POST',
      path: '/v1/chat/completions',
      body: JSON.stringify({ ...CHAT, stream: true }),
    })
    const read = res.body.text().catch((e: unknown) => e as Error)
    await waitUntil(() => time.pending.length === 1, 'the first keep-alive to be due')
    msw.close()
    expect(await read).toBeInstanceOf(Error)
    expect(msw.stats()).toMatchObject({ in_flight: 0, aborted: 1 })
    expect(time.pending).toEqual([])
  })

  it('lets requests no handler matches through to real servers', async () => {
    const real = createServer((_req, res) => res.end('real'))
    await new Promise<void>((resolve) => real.listen(0, '127.0.0.1', resolve))
    later(() => new Promise((resolve) => real.close(resolve)))
    const msw = createMswHandlers({ wire: 'openai', baseUrl: 'http://mock-openai.test' })
    await network(msw)
    const res = await pool(`http://127.0.0.1:${(real.address() as AddressInfo).port}`).request({
      method: 'GET',
      path: '/',
    })
    expect(await res.body.text()).toBe('real')
  })
})
