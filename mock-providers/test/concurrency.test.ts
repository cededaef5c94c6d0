import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type MockServer, startMockServer } from '../src/index.ts'
import { CHAT, call, FakeTime, waitUntil } from './helpers.ts'

let mock: MockServer | undefined

afterEach(async () => {
  await mock?.close()
  mock = undefined
})

async function limited(overflow: 429 | 503) {
  const time = new FakeTime(false)
  mock = await startMockServer({
    wire: 'openai',
    profile: {
      name: 'one-at-a-time',
      latency: { ttft: '1s' },
      concurrency: { limit: 1, queue: 1, overflow_status: overflow },
    },
    clock: time,
    timers: time,
  })
  return { time, mock }
}

describe('concurrency limit and queue', () => {
  it('serves one at a time, queues the next and answers the overflow status beyond the queue', async () => {
    const { time, mock: m } = await limited(429)
    const order: string[] = []
    const first = call(m.url, '/v1/chat/completions', CHAT).then((r) => order.push(`first ${r.status}`))
    await waitUntil(() => time.pending.length === 1, 'the first request to start')
    const second = call(m.url, '/v1/chat/completions', CHAT).then((r) => order.push(`second ${r.status}`))
    await waitUntil(() => m.stats().queue.depth === 1, 'the second request to queue')
    const third = await call(m.url, '/v1/chat/completions', CHAT)
    expect(third.status).toBe(429)
    expect(third.headers['retry-after']).toBe('1')
    expect(time.pending).toEqual([1000]) // the queued one has not started its wait
    time.fireNext()
    await first
    await waitUntil(() => time.pending.length === 1, 'the second request to leave the queue')
    expect(m.stats().queue).toEqual({ depth: 0, active: 1, overflowed: 1 })
    time.fireNext()
    await second
    expect(order).toEqual(['first 200', 'second 200'])
  })

  it('answers 503 in provider shape when configured so', async () => {
    const { time, mock: m } = await limited(503)
    const first = call(m.url, '/v1/chat/completions', CHAT)
    await waitUntil(() => time.pending.length === 1, 'the first request to start')
    const second = call(m.url, '/v1/chat/completions', CHAT)
    await waitUntil(() => m.stats().queue.depth === 1, 'the second request to queue')
    const third = await call(m.url, '/v1/chat/completions', CHAT)
    expect(third.status).toBe(503)
    expect(JSON.parse(third.text).error.type).toBe('server_error')
    time.fireNext()
    await first
    await waitUntil(() => time.pending.length === 1, 'the second to start')
    time.fireNext()
    expect((await second).status).toBe(200)
  })

  it('a client that gives up while queued leaves the queue', async () => {
    const { time, mock: m } = await limited(503)
    const first = call(m.url, '/v1/chat/completions', CHAT)
    await waitUntil(() => time.pending.length === 1, 'the first request to start')
    const controller = new AbortController()
    const queued = request(`${m.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(CHAT),
      signal: controller.signal,
    }).catch((e: unknown) => e)
    await waitUntil(() => m.stats().queue.depth === 1, 'the second request to queue')
    controller.abort()
    await queued
    await waitUntil(() => m.stats().queue.depth === 0, 'the queue to empty')
    expect(m.stats().aborted).toBe(1)
    time.fireNext()
    expect((await first).status).toBe(200)
  })
})
