import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createLoggers, LOG_REDACT } from '../src/app.ts'
import { loadConfig } from '../src/config/load.ts'
import { LineBudget } from '../src/observability/line-budget.ts'
import { LineBatch } from '../src/observability/log-destination.ts'
import {
  createLogObserver,
  REQUESTS_NOT_LOGGED,
  requestFields,
  requestLineBudget,
} from '../src/observability/log-observer.ts'
import type { RequestOutcome } from '../src/observability/observer.ts'
import { REQUEST_COMPLETED, requestLineWriter } from '../src/observability/request-line.ts'
import { ADMIN_KEY, CLIENT_KEY, chatBody, type Harness, postChat, sseData, startAll } from './helpers.ts'

// pino logs: one line per request with the fields that explain its latency, and never a key,
// whatever happens in the request cycle.

/** A logger whose lines are kept; redacting as the process's logger does, or plain as its request logger. */
function capture(
  level: pino.Level,
  options: pino.LoggerOptions = { redact: { paths: LOG_REDACT, censor: '[redacted]' } },
) {
  const lines: string[] = []
  const logger = pino(
    { level, ...options },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(...chunk.toString().trimEnd().split('\n'))
        cb()
      },
    }),
  )
  return { logger, lines }
}

const fast = { latency: { ttft: 0, itl: 0 } }

describe('request logs', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('write one line per request with the performance fields', async () => {
    const { logger, lines } = capture('info', {})
    h = await startAll({
      profile: fast,
      deps: { logger: capture('info').logger, requestLogger: logger },
      overrides: { caching: { enabled: false } },
    })
    expect((await postChat(h.url, chatBody(), { 'x-request-id': 'log-test-1' })).status).toBe(200)
    await sseData(await postChat(h.url, chatBody({ stream: true }), { 'x-request-id': 'log-test-2' }))
    const records = lines.map((l) => JSON.parse(l)).filter((r) => r.msg === 'request completed')
    expect(records).toHaveLength(2)
    const [plain, stream] = records
    expect(plain).toMatchObject({
      level: 30,
      reqId: 'log-test-1',
      route: 'chat',
      model: 'gpt-4o-mini',
      provider: 'openai-a',
      status: 200,
      stream: false,
      attempts: 1,
      cache: 'BYPASS',
    })
    expect(plain.ms).toBeGreaterThan(0)
    expect(plain.upstream_ms).toBeGreaterThan(0)
    expect(plain.upstream_ms).toBeLessThanOrEqual(plain.ms)
    expect(plain.tokens).toBeGreaterThan(0)
    expect(stream).toMatchObject({ reqId: 'log-test-2', stream: true })
    expect(stream.ttft_ms).toBeGreaterThan(0)
  })

  it("write a request's own warnings with its request id", async () => {
    const { logger, lines } = capture('info')
    h = await startAll({
      profile: { ...fast, faults: [{ type: 'status', status: 500, rate: 1 }] },
      deps: { logger, requestLogger: capture('info', {}).logger },
      overrides: { caching: { enabled: false }, http_client: { retry_attempts: 0 } },
    })
    expect((await postChat(h.url, chatBody(), { 'x-request-id': 'log-test-3' })).status).toBe(502)
    const warnings = lines.map((l) => JSON.parse(l)).filter((r) => r.level === 40 && r.code)
    expect(warnings).toEqual([expect.objectContaining({ reqId: 'log-test-3', code: 'upstream_error' })])
  })

  it('past logging.request_lines_per_second, count plain requests and write every notable one', async () => {
    const { logger, lines } = capture('info', {})
    h = await startAll({
      profile: fast,
      deps: { logger: capture('info').logger, requestLogger: logger },
      overrides: { caching: { enabled: false }, logging: { request_lines_per_second: 2 } },
    })
    // Ten at once (one or two seconds at most), then one the proxy answers with an error.
    const answers = await Promise.all(Array.from({ length: 10 }, () => postChat(h.url, chatBody())))
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200))
    expect((await postChat(h.url, chatBody({ model: 'no-such-model' }))).status).toBe(404)
    await h.close() // writes the count of the second still open
    const records = lines.map((l) => JSON.parse(l))
    const written = records.filter((r) => r.msg === REQUEST_COMPLETED)
    const counts = records.filter((r) => r.msg === REQUESTS_NOT_LOGGED)
    expect(counts.length).toBeGreaterThan(0)
    expect(counts.every((c) => c.limit === 2 && c.requests > 0)).toBe(true)
    expect(written.filter((r) => r.status === 200).length).toBeLessThan(10)
    expect(written.filter((r) => r.status === 404)).toHaveLength(1)
    // Lines and counts together: every request, none twice.
    expect(written.length + counts.reduce((n, c) => n + c.requests, 0)).toBe(11)
  })

  it('keep a budget a second, let notable requests through and count the rest', () => {
    let now = 0
    const reports: number[] = []
    const budget = new LineBudget(3, { monotonic: () => now, report: (n) => reports.push(n) })
    const admitted = (notable: boolean[]) => notable.map((n) => budget.admit(n))
    expect(admitted([false, false, false, false, true, false])).toEqual([
      true,
      true,
      true,
      false,
      true,
      false,
    ])
    budget.tick() // the second is not over
    expect(reports).toEqual([])
    now = 999.9
    expect(budget.admit(false)).toBe(false)
    now = 1000
    budget.tick() // over: its count is written, the next second starts afresh
    expect(reports).toEqual([3])
    expect(admitted([false, false, false, false])).toEqual([true, true, true, false])
    now = 5000 // a second with nothing left out writes nothing
    expect(budget.admit(false)).toBe(true)
    expect(reports).toEqual([3, 1])
    budget.tick()
    budget.flush()
    expect(reports).toEqual([3, 1])
    const unlimited = new LineBudget(0, { monotonic: () => now, report: (n) => reports.push(n) })
    expect(Array.from({ length: 50 }, () => unlimited.admit(false))).toEqual(Array(50).fill(true))
    unlimited.flush()
    expect(reports).toEqual([3, 1])
  })

  it('decide which requests are always written on what the outcome says', () => {
    const { logger, lines } = capture('info', {})
    let now = 0
    const observer = createLogObserver(logger, 'info', {
      budget: requestLineBudget(logger, 1, () => now),
    })
    const ok: RequestOutcome = {
      requestId: 'r',
      route: 'chat',
      model: 'm',
      provider: 'p',
      status: 200,
      stream: false,
      durationMs: 1,
      upstreamMs: 1,
      waitMs: 0,
      attempts: 1,
      cache: 'BYPASS',
      ttftMs: undefined,
      usage: undefined,
      errorCode: undefined,
      truncated: false,
      aborted: false,
    }
    const detours: Partial<RequestOutcome>[] = [
      { status: 429, errorCode: 'rate_limited' },
      { status: 400 },
      { attempts: 2 },
      { waitMs: 3 },
      { stream: true, truncated: true },
      { stream: true, aborted: true, status: 499 },
    ]
    observer.request({ ...ok, requestId: 'first' }) // the second's one line
    observer.request({ ...ok, requestId: 'counted-1' })
    for (const [i, d] of detours.entries()) observer.request({ ...ok, ...d, requestId: `detour-${i}` })
    observer.request({ ...ok, requestId: 'counted-2' })
    now = 1000
    observer.request({ ...ok, requestId: 'next-second' })
    const records = lines.map((l) => JSON.parse(l))
    expect(records.map((r) => r.reqId ?? `${r.msg}: ${r.requests}`)).toEqual([
      'first',
      ...detours.map((_, i) => `detour-${i}`),
      `${REQUESTS_NOT_LOGGED}: 2`,
      'next-second',
    ])
  })

  it('are the bytes pino writes for the same fields, whatever the values', () => {
    const outcome = (i: number): RequestOutcome => ({
      requestId: ['req-1', 'a"b\\c', 'tab\there', 'ünï\u2028', '\u0001'][i % 5],
      route: i % 2 ? 'chat' : 'embeddings',
      model: ['gpt-4o-mini', '', 'm"odel', 'x'.repeat(300)][i % 4],
      provider: i % 3 === 0 ? undefined : 'openai-a',
      status: [200, 499, 503, 429][i % 4],
      stream: i % 2 === 0,
      durationMs: [1.23456, 0, Number.NaN, 1e21, 0.005][i % 5],
      upstreamMs: i * 0.333,
      waitMs: i % 4 === 0 ? 0 : i * 0.1,
      attempts: i % 3,
      cache: (['HIT', 'MISS', 'BYPASS'] as const)[i % 3],
      ttftMs: i % 2 ? undefined : i / 7,
      usage: i % 5 === 0 ? undefined : { prompt_tokens: i, completion_tokens: 2, total_tokens: i + 2 },
      errorCode: i % 4 === 2 ? 'overloaded' : undefined,
      truncated: i % 7 === 0,
      aborted: i % 6 === 0,
    })
    const options = { timestamp: () => ',"time":1700000000000', base: { pid: 7, hostname: 'h' } }
    const byHand = capture('info', options)
    const byPino = capture('info', options)
    expect(requestLineWriter(byHand.logger, 'info')).toBeDefined()
    expect(requestLineWriter(capture('info').logger, 'info')).toBeUndefined() // redacting: pino writes it
    const observer = createLogObserver(byHand.logger)
    for (let i = 0; i < 60; i++) {
      observer.request(outcome(i))
      byPino.logger.info(requestFields(outcome(i)), REQUEST_COMPLETED)
    }
    expect(byHand.lines).toHaveLength(60)
    expect(byHand.lines).toEqual(byPino.lines)
  })

  it('reach the destination in order, a batch at a time, and all of them on flush', () => {
    // What the sink was given, as it was when given (a sonic-boom writes it later: a buffer handed
    // over must never change afterwards), and what it holds once everything is written.
    const handed: { bytes: Buffer; copy: string }[] = []
    const events: string[] = []
    const sink = {
      write: (b: Buffer) => handed.push({ bytes: b, copy: b.toString() }) > 0,
      flush: () => events.push('<flush>'),
      flushSync: () => events.push('<sync>'),
    }
    const batch = new LineBatch(sink, 256)
    const a = pino({ base: null, timestamp: false }, batch)
    const b = pino({ base: null, timestamp: false, redact: ['key'] }, batch)
    for (let i = 0; i < 5; i++) (i % 2 ? a : b).info({ i, key: 'secret' }, 'x')
    // 5 lines of 45-49 characters: a line goes in while 3 bytes a character of it still fit.
    expect(handed).toHaveLength(1)
    expect(handed[0].copy.split('\n').filter(Boolean)).toHaveLength(3)
    a.info('naïve café ☕ 🚀') // characters of 2, 3 and 4 bytes
    a.info({ long: 'y'.repeat(300) }, 'larger than the buffer: goes on its own, in order')
    batch.flush()
    a.info('last')
    batch.flushSync()
    expect(events).toEqual(['<flush>', '<sync>'])
    for (const h of handed) expect(h.bytes.toString()).toBe(h.copy)
    const lines = handed
      .map((h) => h.copy)
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => l.i ?? l.msg.slice(0, 6))).toEqual([0, 1, 2, 3, 4, 'naïve ', 'larger', 'last'])
    expect(lines[5].msg).toBe('naïve café ☕ 🚀')
    // Each logger keeps its own settings through the shared batch: b redacts, a does not.
    expect(lines.slice(0, 5).map((l) => l.key)).toEqual([
      '[Redacted]',
      'secret',
      '[Redacted]',
      'secret',
      '[Redacted]',
    ])
  })

  it('log every upstream attempt at debug level with logging.http_client', async () => {
    const { logger, lines } = capture('debug')
    h = await startAll({
      profile: fast,
      deps: { logger },
      overrides: { logging: { http_client: true }, caching: { enabled: false } },
    })
    h.mocks.openai.setProfile({ ...fast, faults: [{ type: 'status', status: 503, rate: 1 }] })
    expect((await postChat(h.url, chatBody({ model: 'resilient' }))).status).toBe(200)
    const attempts = lines.map((l) => JSON.parse(l)).filter((r) => r.msg === 'upstream attempt')
    expect(attempts.map((a) => [a.provider, a.outcome, a.status])).toEqual([
      ['openai-a', 'status', 503],
      ['anthropic-a', 'ok', 200],
    ])
  })

  it('take the level from the config', () => {
    const warn = createLoggers(loadConfig({ document: { logging: { level: 'warn' } } }))
    expect([warn.logger.level, warn.requestLogger.level]).toEqual(['warn', 'warn'])
    expect(createLoggers(loadConfig({ document: {}, env: { LOG_LEVEL: 'debug' } })).logger.level).toBe(
      'debug',
    )
  })

  it('never contain a provider key, a client key or an admin key, even at trace level through errors', async () => {
    const { logger, lines } = capture('trace')
    h = await startAll({
      profile: fast,
      deps: { logger },
      overrides: {
        http_client: { retry_attempts: 1 },
        circuit_breaker: { failure_threshold: 50 },
        profiling: { enabled: true },
      },
    })
    const o = h.mocks.openai
    await postChat(h.url, chatBody())
    await postChat(h.url, chatBody(), { authorization: 'Bearer sk-wrong-client-key-0009' })
    await fetch(`${h.url}/v1/models`, { headers: { 'x-api-key': CLIENT_KEY } })
    o.setProfile({ ...fast, faults: [{ type: 'status', status: 401, rate: 1 }] })
    await postChat(h.url, chatBody({ max_tokens: 3 }))
    o.setProfile({ ...fast, faults: [{ type: 'status', status: 500, rate: 1 }] })
    await postChat(h.url, chatBody({ max_tokens: 4 }))
    await postChat(h.url, chatBody({ model: 'resilient', max_tokens: 5 }))
    o.setProfile({ ...fast, faults: [{ type: 'cut', after_chunks: 2, rate: 1 }] })
    await sseData(await postChat(h.url, chatBody({ stream: true, max_tokens: 7 })))
    o.setProfile({ ...fast, faults: [{ type: 'reset', rate: 1 }] })
    await postChat(h.url, chatBody({ max_tokens: 8 }))
    // Last: the provider's Retry-After keeps it cooling down for a minute.
    o.setProfile({ ...fast, faults: [{ type: 'rate_limit', retry_after: '60s', rate: 1 }] })
    await postChat(h.url, chatBody({ max_tokens: 6 }))
    o.reset()
    await fetch(`${h.url}/debug/memory/gc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    })
    await fetch(`${h.url}/debug/memory/gc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    })
    await fetch(`${h.url}/health/detailed`)
    await fetch(`${h.url}/metrics`)

    const text = lines.join('\n')
    if (process.env.SHOW_LOGS) console.log(text)
    expect(lines.length).toBeGreaterThan(5)
    for (const code of ['upstream_auth_failed', 'upstream_error', 'stream_truncated', 'rate_limit_exceeded'])
      expect(text).toContain(code)
    for (const secret of [
      'sk-provider-secret-a',
      'sk-ant-provider-secret',
      CLIENT_KEY,
      ADMIN_KEY,
      'sk-wrong-client-key-0009',
    ]) {
      expect(text).not.toContain(secret)
    }
  })
})
