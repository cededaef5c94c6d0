import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { CallWatch, type WatchedCall } from '../src/providers/call-watch.ts'
import { chatBody, postChat, sseData } from './helpers.ts'
import { completionBody, type HostileUpstream, proxyOver, startHostileUpstream } from './hostile-upstream.ts'

// A provider that sends its head and then a byte now and then (spaces in a JSON body, comments in
// a stream) resets undici's body timeout for ever: the watch ends such calls at the request's
// deadline (or an attempt's first_token_timeout, when set and sooner: it fails over), or once a
// stream answers, after read_timeout without an answer event.

class FakeCall implements WatchedCall {
  settled = false
  started = false
  progress = 0
  waiting = false
  expired: Error | undefined
  expire(reason: Error): void {
    this.expired = reason
    this.settled = true
  }
}

describe('CallWatch', () => {
  let now = 0
  const watch = new CallWatch({ monotonic: () => now, idleMs: 1000, intervalMs: 60_000 })
  afterEach(() => watch.close())

  it('ends a call whose answer has not started by its deadline, and forgets settled ones', () => {
    now = 0
    const late = new FakeCall()
    const done = new FakeCall()
    watch.watch(late, 500)
    watch.watch(done, 500)
    done.settled = true
    now = 499
    watch.sweep()
    expect(late.expired).toBeUndefined()
    expect(watch.size).toBe(1)
    now = 500
    watch.sweep()
    expect(late.expired?.message).toMatch(/request_deadline/)
    expect((late.expired as { code?: string }).code).toBe('ETIMEDOUT')
    expect(watch.size).toBe(0)
  })

  it('names the bound that ended a call: its first_token_timeout or the deadline', () => {
    now = 0
    const call = new FakeCall()
    watch.watch(call, 300, 'first_token')
    now = 300
    watch.sweep()
    expect(call.expired?.message).toMatch(/first_token_timeout/)
    expect((call.expired as { code?: string }).code).toBe('ETIMEDOUT')
  })

  it('ends a started stream idle for idleMs, not one making progress or waiting on its client', () => {
    now = 0
    const idle = new FakeCall()
    const busy = new FakeCall()
    const blocked = new FakeCall()
    for (const call of [idle, busy, blocked]) {
      call.started = true
      watch.watch(call, 100) // past its deadline, but answering: the deadline no longer holds
    }
    blocked.waiting = true
    for (now = 0; now <= 3000; now += 250) {
      busy.progress++
      watch.sweep()
    }
    expect(idle.expired?.message).toMatch(/read_timeout/)
    expect(busy.expired).toBeUndefined()
    expect(blocked.expired).toBeUndefined()
  })
})

describe('a provider that sends its head and then drips', () => {
  const upstreams: HostileUpstream[] = []
  let close: (() => Promise<void>) | undefined
  const drips = new Set<NodeJS.Timeout>()
  afterEach(async () => {
    for (const t of drips) clearInterval(t)
    drips.clear()
    await close?.()
    for (const u of upstreams.splice(0)) await u.close()
  })

  const drip = (res: ServerResponse, bytes: string) => {
    const t = setInterval(() => res.write(bytes), 100)
    drips.add(t)
    res.on('close', () => clearInterval(t))
  }

  async function start(answer: (body: Record<string, unknown>, res: ServerResponse) => void) {
    const upstream = await startHostileUpstream((_req, body, res) => answer(JSON.parse(body), res))
    upstreams.push(upstream)
    const proxy = await proxyOver({
      http_client: { request_deadline: 1, read_timeout: 1, timeout: 5, retry_attempts: 0 },
      streaming: { ping_interval: 0 },
      providers: [{ name: 'drip', wire: 'openai', base_url: `${upstream.url}/v1` }],
      models: { 'gpt-4o-mini': { deployments: [{ provider: 'drip' }] } },
    })
    close = proxy.close
    const url = proxy.url
    return url
  }

  it('is answered 504 at the request deadline when its JSON body never ends', async () => {
    const url = await start((_body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"id":"x",')
      drip(res, ' ')
    })
    const res = await postChat(url, chatBody())
    expect(res.status).toBe(504)
    expect((await res.json()).error.code).toBe('upstream_timeout')
  })

  it('ends a stream of comments before any answer, and one that went quiet after answering', async () => {
    const event = (content: string) =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`
    let answered = false
    const url = await start((_body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      if (answered) res.write(event('Hello') + event(' there'))
      drip(res, ': keep-alive\n\n')
    })
    const before = await postChat(url, chatBody({ stream: true }))
    expect(before.status).toBe(504)
    expect((await before.json()).error.code).toBe('upstream_timeout')
    answered = true
    const after = await postChat(url, chatBody({ stream: true }))
    expect(after.status).toBe(200)
    const data = await sseData(after)
    expect(data.at(-1)).not.toBe('[DONE]')
    expect(JSON.parse(data.at(-1) as string).error).toMatchObject({ code: 'upstream_timeout' })
    expect(JSON.parse(data.at(-1) as string).error.message).toMatch(/stopped sending/)
  })

  // The first deployment sends its head at once and then nothing of the answer: a space now and
  // then in a JSON body, the role chunk (no answer yet) and keep-alive comments in a stream.
  async function startWithFallback(firstTokenTimeout: number | undefined) {
    const stall = await startHostileUpstream((_req, body, res) => {
      const stream = JSON.parse(body).stream === true
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' })
      if (stream) {
        const role = { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm' }
        res.write(
          `data: ${JSON.stringify({ ...role, choices: [{ index: 0, delta: { role: 'assistant' } }] })}\n\n`,
        )
      }
      drip(res, stream ? ': keep-alive\n\n' : ' ')
    })
    const good = await startHostileUpstream((_req, body, res) => {
      if (JSON.parse(body).stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(completionBody('from good'))
        return
      }
      const chunk = (delta: object, finish: string | null) =>
        `data: ${JSON.stringify({ id: 'g', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(`${chunk({ content: 'from good' }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`)
    })
    upstreams.push(stall, good)
    const proxy = await proxyOver({
      http_client: {
        request_deadline: 2,
        read_timeout: 5,
        timeout: 5,
        retry_attempts: 0,
        first_token_timeout: firstTokenTimeout,
      },
      streaming: { ping_interval: 0 },
      providers: [
        { name: 'stall', wire: 'openai', base_url: `${stall.url}/v1` },
        { name: 'good', wire: 'openai', base_url: `${good.url}/v1` },
      ],
      models: { 'gpt-4o-mini': { deployments: [{ provider: 'stall' }, { provider: 'good' }] } },
    })
    close = proxy.close
    return proxy.url
  }

  it('with first_token_timeout, leaves an attempt whose answer has not started and fails over within the deadline', async () => {
    const url = await startWithFallback(0.3)
    const plain = await postChat(url, chatBody())
    expect(plain.status).toBe(200)
    expect(plain.headers.get('x-proxy-provider')).toBe('good')
    expect(plain.headers.get('x-proxy-attempts')).toBe('2')
    expect((await plain.json()).choices[0].message.content).toBe('from good')
    const stream = await postChat(url, chatBody({ stream: true }))
    expect(stream.status).toBe(200)
    expect(stream.headers.get('x-proxy-provider')).toBe('good')
    expect(stream.headers.get('x-proxy-attempts')).toBe('2')
    const data = await sseData(stream)
    expect(data.at(-1)).toBe('[DONE]')
    expect(JSON.parse(data[0] as string).choices[0].delta.content).toBe('from good')
  })

  it('without first_token_timeout (the default), the stalled attempt holds the request to its deadline', async () => {
    const url = await startWithFallback(undefined)
    const plain = await postChat(url, chatBody())
    expect(plain.status).toBe(504)
    expect((await plain.json()).error.code).toBe('upstream_timeout')
  })
})
