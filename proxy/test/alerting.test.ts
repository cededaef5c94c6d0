import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config/load.ts'
import { AlertEngine } from '../src/observability/alert-engine.ts'
import { type AlertMetrics, evaluate, parseCondition } from '../src/observability/alert-expr.ts'
import {
  type HttpReceiver,
  type MailReceiver,
  startHttpReceiver,
  startMailReceiver,
  waitFor,
} from './alert-receivers.ts'
import { chatBody, type Harness, postChat, startAll } from './helpers.ts'

const metrics = (over: Partial<AlertMetrics> = {}): AlertMetrics => ({
  error_rate: 0,
  avg_response_time: 100,
  p50_response_time: 90,
  p95_response_time: 200,
  p99_response_time: 300,
  memory_usage_percent: 20,
  cache_hit_rate: null,
  open_breakers: 0,
  requests_per_second: 10,
  ...over,
})

function problems(document: unknown, env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ document, env })
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
  return []
}

describe('alert conditions', () => {
  it('evaluates comparisons, and/or/not and parentheses over the fixed metrics', () => {
    const m = metrics({ error_rate: 0.1, avg_response_time: 6000 })
    expect(evaluate(parseCondition('error_rate > 0.05'), m)).toBe(true)
    expect(evaluate(parseCondition('avg_response_time > 5000'), m)).toBe(true)
    expect(evaluate(parseCondition('error_rate > 0.05 and requests_per_second >= 20'), m)).toBe(false)
    expect(
      evaluate(parseCondition('error_rate > 0.5 || (p99_response_time <= 300 && !open_breakers > 0)'), m),
    ).toBe(true)
    expect(evaluate(parseCondition('0.05 < error_rate'), m)).toBe(true)
    expect(evaluate(parseCondition('open_breakers == 0 and memory_usage_percent != 20'), m)).toBe(false)
  })

  it('never fires on a metric without a value', () => {
    expect(evaluate(parseCondition('cache_hit_rate < 0.5'), metrics())).toBe(false)
    expect(evaluate(parseCondition('cache_hit_rate < 0.5'), metrics({ cache_hit_rate: 0.2 }))).toBe(true)
  })

  it.each([
    ['erorr_rate > 0.05', 'unknown metric "erorr_rate" at column 1'],
    ['error_rate >', 'expected a metric or a number at the end'],
    ['error_rate 0.05', 'expected a comparison (> >= < <= == !=) at column 12, found "0.05"'],
    ['1 > 0', 'a comparison needs a metric on one side'],
    ['(error_rate > 1', 'expected ")" at the end'],
    ['error_rate > 1; process.exit()', 'unexpected ";" at column 15'],
    ['', 'the condition is empty'],
  ])('rejects %j: %s', (source, message) => {
    expect(() => parseCondition(source)).toThrow(message)
  })
})

describe('alerting configuration', () => {
  it('lists every problem with its path', () => {
    const found = problems({
      alerting: {
        rules: [
          { name: 'a', condition: 'error_rat > 1', channels: ['ops'] },
          { name: 'a', condition: 'error_rate > 1', for: 'soon' },
        ],
        channels: {
          pager: { type: 'pagerduty' },
          chat: { type: 'slack', webhook_url: 'ftp://x' },
          mail: { type: 'email', host: 'smtp', from: 'a@b.c', to: [] },
        },
      },
    })
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^alerting\.rules\.0\.condition: invalid condition "error_rat > 1": unknown metric/,
        ),
        'alerting.rules.1.for: "soon" is not a duration (use seconds, or 30s, 5m, 1h)',
        'alerting.channels.pager: a pagerduty channel needs routing_key or routing_key_env (one of them)',
        expect.stringMatching(/^alerting\.channels\.chat\.webhook_url: /),
        expect.stringMatching(/^alerting\.channels\.mail\.to: /),
      ]),
    )
    const duplicates = problems({
      alerting: {
        rules: [
          { name: 'a', condition: 'error_rate > 1', channels: ['ops'] },
          { name: 'a', condition: 'error_rate > 1' },
        ],
      },
    })
    expect(duplicates).toEqual([
      'alerting.rules.0.channels.0: no channel named "ops" in alerting.channels (none configured)',
      'alerting.rules.1.name: duplicate rule "a"',
    ])
  })

  it('reads channel secrets from the environment, and has the guide rules by default', () => {
    const config = loadConfig({
      document: { alerting: { channels: { pd: { type: 'pagerduty', routing_key_env: 'PD_KEY' } } } },
      env: { PD_KEY: 'R0UT1NGKEY' },
    })
    expect(config.alerting.channels.pd).toMatchObject({ routing_key: 'R0UT1NGKEY' })
    expect(config.alerting.rules.map((r) => r.condition)).toEqual(
      expect.arrayContaining(['error_rate > 0.05', 'avg_response_time > 5000']),
    )
    expect(
      problems({
        alerting: { enabled: true, channels: { pd: { type: 'pagerduty', routing_key_env: 'PD_KEY' } } },
      }),
    ).toEqual(['alerting.channels.pd.routing_key_env: environment variable PD_KEY is not set'])
  })
})

describe('alert notifications reach each channel', () => {
  let http: HttpReceiver
  let mail: MailReceiver
  beforeAll(async () => {
    http = await startHttpReceiver()
    mail = await startMailReceiver({ user: 'alerts', pass: 'smtp-secret-pass' })
  })
  afterAll(async () => {
    await http.close()
    await mail.close()
  })
  afterEach(() => {
    http.received.length = 0
    mail.mails.length = 0
    http.status = 202
  })

  function engine(rules: unknown[], extra: Record<string, unknown> = {}) {
    const config = loadConfig({
      document: {
        alerting: {
          enabled: true,
          instance: 'proxy-test',
          rules,
          channels: {
            slack: { type: 'slack', webhook_url: `${http.url}/slack/T000/B000/XXXX`, channel: '#ops' },
            pagerduty: { type: 'pagerduty', routing_key_env: 'PD_ROUTING_KEY', url: `${http.url}/pagerduty` },
            hook: { type: 'webhook', url: `${http.url}/hook`, headers: { 'x-token': 't' } },
            email: {
              type: 'email',
              host: '127.0.0.1',
              port: mail.port,
              username: 'alerts',
              password_env: 'SMTP_PASSWORD',
              from: 'proxy@example.test',
              to: ['oncall@example.test'],
            },
          },
          ...extra,
        },
      },
      env: { PD_ROUTING_KEY: 'pd-routing-key-123', SMTP_PASSWORD: 'smtp-secret-pass' },
    })
    const clock = { t: 0 }
    let current = metrics()
    const lines: string[] = []
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(chunk.toString())
          cb()
        },
      }),
    )
    const e = new AlertEngine({ config: config.alerting, metrics: () => current, now: () => clock.t, logger })
    return {
      e,
      lines,
      set: (m: Partial<AlertMetrics>) => {
        current = metrics(m)
      },
      at: (ms: number) => {
        clock.t = ms
      },
    }
  }

  const byPath = (prefix: string) => http.received.filter((r) => r.path.startsWith(prefix)).map((r) => r.body)

  it('sends firing after `for`, nothing more while it fires, then resolved, to slack, pagerduty, webhook and email', async () => {
    const t = engine([
      { name: 'high_error_rate', condition: 'error_rate > 0.05', for: '1m', severity: 'critical' },
    ])
    t.set({ error_rate: 0.2 })
    await t.e.evaluate()
    t.at(30_000)
    await t.e.evaluate()
    expect(http.received).toHaveLength(0)
    t.at(60_000)
    await t.e.evaluate()
    t.at(75_000)
    await t.e.evaluate()
    expect(t.e.states()[0]).toMatchObject({ state: 'firing' })
    t.set({ error_rate: 0.01 })
    t.at(90_000)
    await t.e.evaluate()
    t.at(105_000)
    await t.e.evaluate()
    await waitFor(() => mail.mails.length === 2)

    const slack = byPath('/slack/T000/B000/XXXX')
    expect(slack).toHaveLength(2)
    expect(slack[0].text).toBe(
      '[FIRING] high_error_rate (critical) on proxy-test: error_rate > 0.05 (error_rate=0.2)',
    )
    expect(slack[0]).toMatchObject({ channel: '#ops', attachments: [{ color: 'danger' }] })
    expect(slack[1].text).toMatch(/^\[RESOLVED\] high_error_rate/)

    const pd = byPath('/pagerduty')
    expect(pd.map((e) => e.event_action)).toEqual(['trigger', 'resolve'])
    expect(pd[0]).toMatchObject({
      routing_key: 'pd-routing-key-123',
      dedup_key: 'llm-proxy/proxy-test/high_error_rate',
      payload: { severity: 'critical', source: 'proxy-test', component: 'llm-proxy' },
    })
    expect(pd[1]).toEqual({
      routing_key: 'pd-routing-key-123',
      event_action: 'resolve',
      dedup_key: 'llm-proxy/proxy-test/high_error_rate',
    })

    const hook = byPath('/hook')
    expect(hook.map((n) => n.status)).toEqual(['firing', 'resolved'])
    expect(hook[0]).toMatchObject({ alert: 'high_error_rate', values: { error_rate: 0.2 }, ended_at: null })
    expect(hook[1].ended_at).toBe(new Date(90_000).toISOString())

    expect(mail.mails.map((m) => m.to)).toEqual([['oncall@example.test'], ['oncall@example.test']])
    expect(mail.mails[0].user).toBe('alerts')
    expect(mail.mails[0].text).toContain('[FIRING] high_error_rate')
    expect(mail.mails[1].text).toContain('[RESOLVED] high_error_rate')
    await t.e.stop()
  })

  it('repeats a firing alert every repeat_interval, and only its channels', async () => {
    const t = engine([
      { name: 'slow', condition: 'avg_response_time > 5000', channels: ['hook'], repeat_interval: '5m' },
    ])
    t.set({ avg_response_time: 6000 })
    for (const at of [0, 60_000, 299_000, 300_000, 310_000]) {
      t.at(at)
      await t.e.evaluate()
    }
    expect(byPath('/hook').map((n) => n.status)).toEqual(['firing', 'firing'])
    expect(byPath('/slack')).toHaveLength(0)
    expect(mail.mails).toHaveLength(0)
    await t.e.stop()
  })

  it('logs a failed delivery without the webhook URL, routing key or password', async () => {
    http.status = 500
    const t = engine([{ name: 'down', condition: 'open_breakers > 0' }])
    t.set({ open_breakers: 1 })
    await t.e.evaluate()
    const failures = t.lines.filter((l) => l.includes('alert delivery failed'))
    expect(failures.length).toBe(3)
    const text = t.lines.join('\n')
    for (const secret of ['T000/B000/XXXX', 'pd-routing-key-123', 'smtp-secret-pass'])
      expect(text).not.toContain(secret)
    expect(text).toContain('channel slack: answered HTTP 500')
    await t.e.stop()
  })
})

describe('alerting in a live proxy', () => {
  let h: Harness
  let hook: HttpReceiver
  afterEach(async () => {
    await h?.close()
    await hook?.close()
  })

  it('evaluates the rules on the live metrics and notifies', async () => {
    hook = await startHttpReceiver()
    h = await startAll({
      profile: { latency: { ttft: 0, itl: 0 }, faults: [{ type: 'status', status: 500, rate: 1 }] },
      overrides: {
        http_client: { retry_attempts: 0 },
        alerting: {
          enabled: true,
          evaluation_interval: 3600,
          rules: [{ name: 'errors', condition: 'error_rate > 0.5 and requests_per_second > 0' }],
          channels: { hook: { type: 'webhook', url: `${hook.url}/alerts` } },
        },
      },
    })
    for (let i = 0; i < 3; i++)
      expect((await postChat(h.url, chatBody({ max_tokens: 5 + i }))).status).toBe(502)
    await h.app.telemetry.alerts!.evaluate()
    expect(hook.received).toHaveLength(1)
    expect(hook.received[0].body).toMatchObject({
      alert: 'errors',
      status: 'firing',
      values: { error_rate: 1 },
    })
    const scrape = await (await fetch(`${h.url}/metrics/prometheus`)).text()
    expect(scrape).toContain('llm_proxy_alerts_firing{alert="errors",severity="warning"} 1')
    expect(scrape).toContain(
      'llm_proxy_alert_notifications_total{channel="hook",status="firing",result="ok"} 1',
    )
  })
})
