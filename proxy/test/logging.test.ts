import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createLoggers, LOG_REDACT } from '../src/app.ts'
import { loadConfig } from '../src/config/load.ts'
import { ADMIN_KEY, CLIENT_KEY, chatBody, type Harness, postChat, sseData, startAll } from './helpers.ts'

// pino logs: one line per request with the fields that explain its latency, and never a key,
// whatever happens in the request cycle.

function capture(level: pino.Level) {
  const lines: string[] = []
  const logger = pino(
    { level, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
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
    const { logger, lines } = capture('info')
    h = await startAll({ profile: fast, deps: { logger }, overrides: { caching: { enabled: false } } })
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
