import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type MockServer, startMockServer } from '../src/index.ts'
import { CHAT, call, callJson, FakeTime, stream, waitUntil } from './helpers.ts'

let mock: MockServer | undefined

afterEach(async () => {
  await mock?.close()
  mock = undefined
})

describe('control API', () => {
  it('GET /__mock/stats counts requests by route and status, tokens and completions', async () => {
    mock = await startMockServer({ wire: 'openai', profile: 'zero' })
    const ok = await callJson(mock.url, '/v1/chat/completions', CHAT)
    await call(mock.url, '/v1/chat/completions', { model: 'nope', messages: CHAT.messages })
    await call(mock.url, '/v1/models')
    await call(mock.url, '/v1/nowhere', {})
    await waitUntil(() => mock!.stats().completed === 4, 'four completions')
    const stats = (await callJson(mock.url, '/__mock/stats')).json
    expect(stats).toMatchObject({
      wire: 'openai',
      profile: 'zero',
      requests: {
        total: 4,
        by_route: { chat: { '200': 1, '404': 1 }, models: { '200': 1 }, unknown: { '404': 1 } },
      },
      in_flight: 0,
      completed: 4,
      aborted: 0,
      tokens: { prompt: ok.json.usage.prompt_tokens, completion: ok.json.usage.completion_tokens },
      queue: { depth: 0, active: 0, overflowed: 0 },
    })
  })

  it('counts a client that leaves mid-stream as aborted', async () => {
    mock = await startMockServer({ wire: 'openai', profile: { name: 'slow', latency: { itl: '20ms' } } })
    const res = await request(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...CHAT, stream: true }),
    })
    const reader = res.body[Symbol.asyncIterator]()
    await reader.next()
    res.body.destroy()
    await waitUntil(() => mock!.stats().aborted === 1, 'the abort to reach the mock')
    expect(mock.stats()).toMatchObject({ in_flight: 0, completed: 0, aborted: 1 })
  })

  it('GET and PUT /__mock/profile replace the active profile', async () => {
    mock = await startMockServer({ wire: 'openai', profile: 'baseline' })
    expect((await callJson(mock.url, '/__mock/profile')).json.name).toBe('baseline')
    const put = await callJson(
      mock.url,
      '/__mock/profile',
      { name: 'down', faults: [{ type: 'status', status: 503, rate: 1 }] },
      { method: 'PUT' },
    )
    expect(put.status).toBe(200)
    expect((await call(mock.url, '/v1/chat/completions', CHAT)).status).toBe(503)
    expect((await callJson(mock.url, '/__mock/profile', '"zero"', { method: 'PUT' })).json.name).toBe('zero')
    expect((await call(mock.url, '/v1/chat/completions', CHAT)).status).toBe(200)
  })

  it('PUT /__mock/profile rejects an invalid profile with 400 naming the field, and keeps the old one', async () => {
    mock = await startMockServer({ wire: 'anthropic', profile: 'baseline' })
    const res = await callJson(
      mock.url,
      '/__mock/profile',
      { latency: { ttft: { dist: 'gamma' } } },
      { method: 'PUT' },
    )
    expect(res.status).toBe(400)
    expect(res.json.error.issues).toEqual([
      'latency.ttft.dist: expected one of fixed|uniform|normal|lognormal',
    ])
    expect(res.json.error.message).toContain('latency.ttft.dist')
    expect((await call(mock.url, '/__mock/profile', '{oops', { method: 'PUT' })).status).toBe(400)
    expect(mock.profile().name).toBe('baseline')
  })

  it('POST /__mock/timeline switches profiles at the scheduled times', async () => {
    const time = new FakeTime(false)
    mock = await startMockServer({ wire: 'openai', profile: 'zero', clock: time, timers: time })
    const res = await callJson(mock.url, '/__mock/timeline', [
      { at: '50ms', profile: 'outage' },
      { at: '150ms', profile: { name: 'recovered' } },
    ])
    expect(res.json).toEqual({
      scheduled: [
        { at_ms: 50, profile: 'outage' },
        { at_ms: 150, profile: 'recovered' },
      ],
    })
    time.advance(49)
    expect((await call(mock.url, '/v1/chat/completions', CHAT)).status).toBe(200)
    time.advance(1)
    expect((await call(mock.url, '/v1/chat/completions', CHAT)).status).toBe(503)
    time.advance(100)
    expect((await call(mock.url, '/v1/chat/completions', CHAT)).status).toBe(200)
    expect(mock.profile().name).toBe('recovered')
  })

  it('POST /__mock/timeline rejects bad entries, naming them, and schedules nothing', async () => {
    const time = new FakeTime(false)
    mock = await startMockServer({ wire: 'openai', profile: 'zero', clock: time, timers: time })
    const res = await callJson(mock.url, '/__mock/timeline', [
      { at: '10ms', profile: 'outage' },
      { at: 'later', profile: { faults: [{ type: 'hang' }] } },
      { at: '1s', profile: 'no-such-profile' },
    ])
    expect(res.status).toBe(400)
    expect(res.json.error.issues).toEqual([
      "[1].at: expected a duration such as '30s' or a number of milliseconds",
      '[1].profile.faults[0].rate: a fault needs a rate or a schedule (from/to, every, on_requests)',
      expect.stringMatching(/^\[2\]\.profile: cannot read .*no-such-profile\.yaml/),
    ])
    expect(time.pending).toEqual([])
  })

  it('POST /__mock/reset restores the start-up profile, zeroes counters and cancels the timeline', async () => {
    const time = new FakeTime(false)
    mock = await startMockServer({ wire: 'openai', profile: 'zero', clock: time, timers: time })
    await call(mock.url, '/v1/chat/completions', CHAT)
    await callJson(mock.url, '/__mock/profile', '"outage"', { method: 'PUT' })
    await callJson(mock.url, '/__mock/timeline', [{ at: '1s', profile: 'flaky' }])
    await waitUntil(() => mock!.stats().completed === 1, 'the first request to complete')
    expect((await callJson(mock.url, '/__mock/reset', {})).json).toEqual({ reset: true })
    expect(mock.stats()).toMatchObject({
      profile: 'zero',
      requests: { total: 0, by_route: {} },
      completed: 0,
    })
    expect(time.pending).toEqual([])
    time.advance(2000)
    expect(mock.profile().name).toBe('zero')
  })

  it('answers 404 and 405 on unknown control routes', async () => {
    mock = await startMockServer({ wire: 'openai', profile: 'zero' })
    expect((await call(mock.url, '/__mock/nothing')).status).toBe(404)
    expect((await call(mock.url, '/__mock/stats', {}, { method: 'DELETE' })).status).toBe(405)
  })
})

describe('determinism over HTTP', () => {
  it('answers a repeated body identically (but for id) and each distinct body its own way', async () => {
    mock = await startMockServer({ wire: 'openai', profile: 'zero' })
    const bodies = ['alpha', 'beta'].map((content) => ({ ...CHAT, messages: [{ role: 'user', content }] }))
    const answers = []
    for (let i = 0; i < 6; i++)
      answers.push((await callJson(mock.url, '/v1/chat/completions', bodies[i % 2])).json)
    const strip = (a: { id: string; created: number }) => ({ ...a, id: '', created: 0 })
    expect(new Set(answers.map((a) => a.id)).size).toBe(6)
    for (let i = 2; i < 6; i++) expect(strip(answers[i])).toEqual(strip(answers[i - 2]))
    expect(answers[1].choices[0].message.content).not.toBe(answers[0].choices[0].message.content)
    for (const a of answers)
      expect(a.usage.completion_tokens).toBe(
        a.choices[0].message.content.split(' ').length + (a.choices[0].message.content.endsWith('.') ? 1 : 0),
      )
  })

  it('two mocks with the same seed answer the same request sequence identically', async () => {
    const answers = []
    for (let round = 0; round < 2; round++) {
      const time = new FakeTime(true)
      const m = await startMockServer({
        wire: 'openai',
        profile: 'flaky',
        seed: 11,
        clock: time,
        timers: time,
      })
      const seen = []
      for (let i = 0; i < 40; i++) {
        const body = { ...CHAT, messages: [{ role: 'user', content: `q${i % 5}` }] }
        if (i % 2 === 0)
          seen.push(await call(m.url, '/v1/chat/completions', body).then((r) => `${r.status} ${r.text}`))
        else
          seen.push(
            await stream(m.url, '/v1/chat/completions', { ...body, stream: true }).then(
              (r) => `${r.status} ${r.text}`,
            ),
          )
      }
      answers.push({ seen, waits: time.waits })
      await m.close()
    }
    expect(answers[1]).toEqual(answers[0])
    expect(answers[0].seen.some((s) => !s.startsWith('200'))).toBe(true)
  })
})
