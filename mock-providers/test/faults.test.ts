import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type MockServer, type ProfileInput, startMockServer, type WireName } from '../src/index.ts'
import { CHAT, call, FakeTime, MESSAGES, stream, waitUntil } from './helpers.ts'

let mock: MockServer | undefined

afterEach(async () => {
  await mock?.close()
  mock = undefined
})

async function start(
  faults: ProfileInput['faults'],
  wire: WireName = 'openai',
  extra: Partial<ProfileInput> = {},
) {
  mock = await startMockServer({ wire, profile: { name: 'test', faults, ...extra } })
  return mock
}

const STREAM_CHAT = { ...CHAT, stream: true, max_tokens: 8 }
const STREAM_MESSAGES = { ...MESSAGES, stream: true, max_tokens: 8 }

describe('status faults', () => {
  it('answers any status with an OpenAI-shaped body', async () => {
    const m = await start([{ type: 'status', status: 502, rate: 1 }])
    const res = await call(m.url, '/v1/chat/completions', CHAT)
    expect(res.status).toBe(502)
    expect(JSON.parse(res.text)).toEqual({
      error: { message: 'Bad gateway.', type: 'server_error', param: null, code: null },
    })
  })

  it('answers any status with an Anthropic-shaped body', async () => {
    const m = await start([{ type: 'status', status: 529, message: 'Overloaded', rate: 1 }], 'anthropic')
    const res = await call(m.url, '/v1/messages', MESSAGES)
    expect(res.status).toBe(529)
    expect(JSON.parse(res.text)).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    })
  })

  it('sends 429 with Retry-After in whole seconds and retry-after-ms', async () => {
    const m = await start([{ type: 'rate_limit', retry_after: '1500ms', rate: 1 }])
    const res = await call(m.url, '/v1/chat/completions', CHAT)
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toBe('2')
    expect(res.headers['retry-after-ms']).toBe('1500')
    expect(JSON.parse(res.text).error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' })
  })

  it('answers 400 context_length_exceeded in OpenAI shape when the prompt exceeds the window', async () => {
    const m = await start([], 'openai', { models: { openai: [{ id: 'gpt-4o-mini', context_window: 12 }] } })
    const res = await call(m.url, '/v1/chat/completions', CHAT)
    expect(res.status).toBe(400)
    const body = JSON.parse(res.text)
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    })
    expect(body.error.message).toMatch(/maximum context length is 12 tokens/)
    expect(m.stats().faults).toEqual({ context_length_exceeded: 1 })
  })

  it('answers 400 invalid_request_error in Anthropic shape when the prompt exceeds the window', async () => {
    const m = await start([], 'anthropic', {
      models: { anthropic: [{ id: 'claude-3-5-haiku-latest', context_window: 12 }] },
    })
    const res = await call(m.url, '/v1/messages', MESSAGES)
    expect(res.status).toBe(400)
    const body = JSON.parse(res.text)
    expect(body.type).toBe('error')
    expect(body.error.type).toBe('invalid_request_error')
    expect(body.error.message).toMatch(/prompt is too long: \d+ tokens > 12 maximum/)
  })
})

describe('connection faults', () => {
  it('hang: never answers; the client times out and the mock counts it aborted', async () => {
    const m = await start([{ type: 'hang', rate: 1 }])
    const error = await request(`${m.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(CHAT),
      signal: AbortSignal.timeout(150),
    }).catch((e: unknown) => e as Error)
    expect((error as Error).name).toMatch(/TimeoutError|AbortError/)
    await waitUntil(() => m.stats().aborted === 1, 'the hang to be counted aborted')
    expect(m.stats().requests.by_route.chat).toEqual({ hang: 1 })
    expect(m.stats().faults).toEqual({ hang: 1 })
  })

  it('hang: close() still returns while a request hangs', async () => {
    const m = await start([{ type: 'hang', rate: 1 }])
    const pending = call(m.url, '/v1/chat/completions', CHAT).catch((e: unknown) => e as Error)
    await waitUntil(() => m.stats().in_flight === 1, 'the request to arrive')
    await m.close()
    const error = await pending
    expect(error).toBeInstanceOf(Error)
  })

  it('reset: the socket is destroyed before any response; the client sees a socket error', async () => {
    const m = await start([{ type: 'reset', rate: 1 }])
    const error = (await call(m.url, '/v1/chat/completions', CHAT).catch((e: unknown) => e)) as Error & {
      code?: string
    }
    expect(error).toBeInstanceOf(Error)
    expect(error.code ?? error.message).toMatch(/ECONNRESET|UND_ERR_SOCKET|other side closed/)
    expect(m.stats()).toMatchObject({
      closed_by_mock: 1,
      faults: { reset: 1 },
      requests: { by_route: { chat: { reset: 1 } } },
    })
  })

  it('slow headers: the status line waits for the configured delay', async () => {
    const time = new FakeTime(false)
    mock = await startMockServer({
      wire: 'openai',
      profile: { name: 'slow', faults: [{ type: 'slow_headers', delay: '5s', rate: 1 }] },
      clock: time,
      timers: time,
    })
    let answered = false
    const pending = call(mock.url, '/v1/chat/completions', CHAT).then((r) => {
      answered = true
      return r
    })
    await waitUntil(() => time.pending.length === 1, 'the header delay to be scheduled')
    expect(time.pending).toEqual([5000])
    await new Promise((r) => setTimeout(r, 50))
    expect(answered).toBe(false)
    time.fireNext()
    const res = await pending
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text).object).toBe('chat.completion')
  })
})

describe('stream faults', () => {
  it('cut (OpenAI): N chunks, no [DONE], then the connection closes', async () => {
    const m = await start([{ type: 'cut', after_chunks: 3, rate: 1 }])
    const result = await stream(m.url, '/v1/chat/completions', STREAM_CHAT)
    expect(result.status).toBe(200)
    expect(result.data).toHaveLength(3)
    expect(result.data).not.toContain('[DONE]')
    for (const line of result.data) expect(JSON.parse(line).object).toBe('chat.completion.chunk')
    expect(result.error).toBeInstanceOf(Error)
    expect(m.stats().closed_by_mock).toBe(1)
  })

  it('cut (Anthropic): N events, no message_stop, then the connection closes', async () => {
    const m = await start([{ type: 'cut', after_chunks: 5, rate: 1 }], 'anthropic')
    const result = await stream(m.url, '/v1/messages', STREAM_MESSAGES)
    expect(result.events).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
    ])
    expect(result.error).toBeInstanceOf(Error)
  })

  it('malformed: one data line is not JSON, the rest of the stream is intact', async () => {
    const m = await start([{ type: 'malformed', at_chunk: 2, rate: 1 }])
    const result = await stream(m.url, '/v1/chat/completions', STREAM_CHAT)
    const broken = result.data.filter((line) => {
      if (line === '[DONE]') return false
      try {
        JSON.parse(line)
        return false
      } catch {
        return true
      }
    })
    expect(broken).toEqual([result.data[1]])
    expect(result.data[result.data.length - 1]).toBe('[DONE]')
    expect(result.error).toBeNull()
  })

  it('duplicate: one chunk is sent twice in a row', async () => {
    const clean = await start([])
    const normal = await stream(clean.url, '/v1/chat/completions', STREAM_CHAT)
    await clean.close()
    const m = await start([{ type: 'duplicate', at_chunk: 3, rate: 1 }])
    const result = await stream(m.url, '/v1/chat/completions', STREAM_CHAT)
    expect(result.data).toHaveLength(normal.data.length + 1)
    expect(result.data[3]).toBe(result.data[2])
    expect([...result.data.slice(0, 3), ...result.data.slice(4)]).toEqual(normal.data)
  })

  it('slow drip: every gap between chunks is the configured interval', async () => {
    const time = new FakeTime(true)
    mock = await startMockServer({
      wire: 'anthropic',
      profile: { name: 'drip', faults: [{ type: 'slow_drip', interval: '1500ms', rate: 1 }] },
      clock: time,
      timers: time,
    })
    const result = await stream(mock.url, '/v1/messages', STREAM_MESSAGES)
    expect(result.events[result.events.length - 1]).toBe('message_stop')
    expect(time.waits).toEqual(Array(result.events.length - 1).fill(1500))
  })
})

/** A response read as it arrives: what came so far and whether it ended. */
async function opened(url: string, path: string, body: unknown) {
  const res = await request(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const got = { status: res.statusCode, headers: res.headers, text: '', ended: false, body: res.body }
  res.body.on('data', (chunk: Buffer) => {
    got.text += chunk.toString()
  })
  res.body.on('end', () => {
    got.ended = true
  })
  res.body.on('error', () => {})
  return got
}

describe('stall', () => {
  const PING = 'event: ping\ndata: {"type":"ping"}\n\n'
  const COMMENT = ': keep-alive\n\n'

  it.each([
    { wire: 'openai', stream: true, body: STREAM_CHAT, after: 2, keepAlive: COMMENT },
    { wire: 'openai', stream: false, body: CHAT, after: 2, keepAlive: ' ' },
    { wire: 'anthropic', stream: true, body: STREAM_MESSAGES, after: 0, keepAlive: PING },
    { wire: 'anthropic', stream: false, body: MESSAGES, after: 0, keepAlive: ' ' },
  ] as const)(
    '$wire, stream $stream: the head, after_chunks events of a stream (nothing of a plain answer), then only keep-alives every interval, never an end',
    async ({ wire, stream: streamed, body, after, keepAlive }) => {
      const time = new FakeTime(false)
      mock = await startMockServer({
        wire,
        profile: { name: 'stall', faults: [{ type: 'stall', after_chunks: after, interval: '2s', rate: 1 }] },
        clock: time,
        timers: time,
      })
      const path = wire === 'openai' ? '/v1/chat/completions' : '/v1/messages'
      const res = await opened(mock.url, path, body)
      expect(res.status).toBe(200)
      const events = () => res.text.split('\n\n').filter((e) => e !== '').length
      const sent = streamed ? after : 0
      await waitUntil(() => time.pending.length === 1 && events() === sent, 'the first keep-alive to be due')
      const head = res.text
      for (let i = 1; i <= 3; i++) {
        expect(time.pending).toEqual([2000])
        time.fireNext()
        await waitUntil(() => res.text === head + keepAlive.repeat(i), `keep-alive ${i}`)
      }
      expect(res.ended).toBe(false)
      expect(res.headers['content-type']).toMatch(streamed ? /^text\/event-stream/ : /^application\/json/)
      expect(mock.stats()).toMatchObject({
        in_flight: 1,
        completed: 0,
        faults: { stall: 1 },
        requests: { by_route: { [wire === 'openai' ? 'chat' : 'messages']: { '200': 1 } } },
      })
    },
  )

  it('the client leaving stops the keep-alives: no timer left, counted aborted', async () => {
    const time = new FakeTime(false)
    mock = await startMockServer({
      wire: 'openai',
      profile: { name: 'stall', faults: [{ type: 'stall', rate: 1 }] },
      clock: time,
      timers: time,
    })
    const res = await opened(mock.url, '/v1/chat/completions', STREAM_CHAT)
    await waitUntil(() => time.pending.length === 1, 'the first keep-alive to be scheduled')
    expect(time.pending).toEqual([1000])
    res.body.destroy()
    await waitUntil(() => mock?.stats().aborted === 1, 'the stall to be counted aborted')
    expect(time.pending).toEqual([])
    expect(mock.stats().in_flight).toBe(0)
  })

  it('close() ends a stalled answer and its keep-alives', async () => {
    const time = new FakeTime(false)
    const m = await startMockServer({
      wire: 'anthropic',
      profile: { name: 'stall', faults: [{ type: 'stall', rate: 1 }] },
      clock: time,
      timers: time,
    })
    const res = await opened(m.url, '/v1/messages', MESSAGES)
    await waitUntil(() => time.pending.length === 1, 'the first keep-alive to be scheduled')
    await m.close()
    await waitUntil(() => m.stats().in_flight === 0, 'the stall to end')
    expect(time.pending).toEqual([])
    expect(res.ended).toBe(false)
  })
})

describe('fault filters', () => {
  it('routes and stream limit where a fault applies', async () => {
    const m = await start([
      { type: 'status', status: 500, rate: 1, routes: ['embeddings'] },
      { type: 'status', status: 503, rate: 1, stream: true },
    ])
    expect((await call(m.url, '/v1/chat/completions', CHAT)).status).toBe(200)
    expect((await stream(m.url, '/v1/chat/completions', STREAM_CHAT)).status).toBe(503)
    expect(
      (await call(m.url, '/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' })).status,
    ).toBe(500)
    expect((await call(m.url, '/v1/models')).status).toBe(200)
  })

  it('stream-only faults leave non-streaming requests alone', async () => {
    const m = await start([{ type: 'cut', after_chunks: 1, rate: 1 }])
    const res = await call(m.url, '/v1/chat/completions', CHAT)
    expect(res.status).toBe(200)
    expect(m.stats().faults).toEqual({})
  })

  it('every N and on_requests pick exact requests', async () => {
    const m = await start([
      { type: 'status', status: 500, every: 3 },
      { type: 'status', status: 502, on_requests: [1, 5] },
    ])
    const statuses = []
    for (let i = 0; i < 7; i++) statuses.push((await call(m.url, '/v1/chat/completions', CHAT)).status)
    expect(statuses).toEqual([502, 200, 500, 200, 502, 500, 200])
  })
})
