import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { type Mocks, startMocks } from '../../mock-providers/src/index.ts'
import {
  type HttpReceiver,
  type MailReceiver,
  startHttpReceiver,
  startMailReceiver,
  waitFor,
} from './alert-receivers.ts'

// A distinct secret in every secret-bearing field and environment variable; the proxy runs as
// `npm start` runs it, with traffic, provider faults and alerts; then everything it prints or
// serves is searched: logs at debug level, --print-config, every public and admin endpoint,
// error bodies. Not one secret may appear, whole or as a long piece.

const SECRETS = {
  OPENAI_KEY_T: 'sk-SECRETopenai7f3a9c2b',
  ANTH_KEY_T: 'sk-ant-SECRETanth81c2d4e',
  PROXY_API_KEYS: 'sk-client-SECRET91ab77',
  PROXY_ADMIN_KEYS: 'sk-admin-SECRET22cd88',
  REDIS_PASSWORD: 'SECRETredispw5e6f7a',
  SLACK_PATH: 'SECRETslackpathB0X1',
  HOOK_TOKEN: 'SECREThooktoken3c4d5',
  HOOK_HEADER: 'SECREThookheader9z8y',
  PD_KEY_T: 'SECRETpdrouting0a1b2',
  SMTP_PW_T: 'SECRETsmtppass6h7i8',
  APIM_HEADER: 'SECRETapimheader4c1d',
}

let mocks: Mocks
let http: HttpReceiver
let mail: MailReceiver
let child: ChildProcess
let url = ''
const output: string[] = []
let configFile = ''
let env: NodeJS.ProcessEnv = {}

beforeAll(async () => {
  mocks = await startMocks({ profile: { latency: { ttft: 0, itl: 0 } }, seed: 9 })
  http = await startHttpReceiver()
  mail = await startMailReceiver({ user: 'alerts', pass: SECRETS.SMTP_PW_T })
  env = {
    ...process.env,
    OPENAI_KEY_T: SECRETS.OPENAI_KEY_T,
    ANTH_KEY_T: SECRETS.ANTH_KEY_T,
    PROXY_API_KEYS: SECRETS.PROXY_API_KEYS,
    PROXY_ADMIN_KEYS: SECRETS.PROXY_ADMIN_KEYS,
    // Nothing listens there: the shared tier fails, and says so without the password.
    REDIS_URL: `redis://default:${SECRETS.REDIS_PASSWORD}@127.0.0.1:9`,
    SLACK_URL_T: `${http.url}/services/T000/${SECRETS.SLACK_PATH}`,
    HOOK_URL_T: `${http.url}/hook?token=${SECRETS.HOOK_TOKEN}`,
    PD_KEY_T: SECRETS.PD_KEY_T,
    SMTP_PW_T: SECRETS.SMTP_PW_T,
  }
  const document = {
    app: { environment: 'staging' },
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: 'debug', performance: true, http_client: true, cache: true },
    caching: { enabled: true },
    http_client: { retry_backoff_factor: 0.01, timeout: 2, read_timeout: 2 },
    providers: [
      {
        name: 'openai-a',
        wire: 'openai',
        base_url: `${mocks.openai.url}/v1`,
        api_key_env: 'OPENAI_KEY_T',
        headers: { 'Ocp-Apim-Subscription-Key': SECRETS.APIM_HEADER },
      },
      { name: 'anthropic-a', wire: 'anthropic', base_url: mocks.anthropic.url, api_key_env: 'ANTH_KEY_T' },
    ],
    models: {
      'gpt-4o-mini': { deployments: [{ provider: 'openai-a' }] },
      'claude-3-5-haiku-latest': { deployments: [{ provider: 'anthropic-a' }] },
    },
    alerting: {
      enabled: true,
      evaluation_interval: 1,
      rules: [{ name: 'errors', condition: 'error_rate > 0.01', for: 0, severity: 'critical' }],
      channels: {
        slack: { type: 'slack', webhook_url_env: 'SLACK_URL_T' },
        hook: { type: 'webhook', url_env: 'HOOK_URL_T', headers: { 'x-token': SECRETS.HOOK_HEADER } },
        pagerduty: { type: 'pagerduty', routing_key_env: 'PD_KEY_T', url: `${http.url}/pagerduty` },
        email: {
          type: 'email',
          host: '127.0.0.1',
          port: mail.port,
          username: 'alerts',
          password_env: 'SMTP_PW_T',
          from: 'proxy@example.test',
          to: ['oncall@example.test'],
        },
      },
    },
  }
  configFile = join(mkdtempSync(join(tmpdir(), 'secrets-')), 'config.yaml')
  writeFileSync(configFile, stringify(document))
  child = spawn(process.execPath, ['proxy/src/server.ts', '--config', configFile], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const collect = (d: Buffer) => output.push(d.toString())
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  await waitFor(() => output.join('').includes('"llm proxy listening"') || child.exitCode !== null, 20_000)
  const line = output
    .join('')
    .split('\n')
    .find((l) => l.includes('"llm proxy listening"'))
  if (!line) throw new Error(`the proxy did not start:\n${output.join('')}`)
  url = JSON.parse(line).address
}, 30_000)

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
  await mocks?.close()
  await http?.close()
  await mail?.close()
})

const client = { authorization: `Bearer ${SECRETS.PROXY_API_KEYS}`, 'content-type': 'application/json' }
const admin = { authorization: `Bearer ${SECRETS.PROXY_ADMIN_KEYS}` }

async function text(path: string, init: RequestInit = {}): Promise<string> {
  const res = await fetch(`${url}${path}`, init)
  return `${path} ${res.status} ${JSON.stringify(Object.fromEntries(res.headers))}\n${await res.text()}`
}

function chat(model: string, extra: Record<string, unknown> = {}) {
  return text('/v1/chat/completions', {
    method: 'POST',
    headers: client,
    body: JSON.stringify({ model, messages: [{ role: 'user', content: `hi ${Math.random()}` }], ...extra }),
  })
}

/** Each secret, and every 8-character piece of it, that appears in `haystack`. */
function leaks(haystack: string): string[] {
  const found: string[] = []
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (let i = 0; i + 8 <= secret.length; i++) {
      const piece = secret.slice(i, i + 8)
      if (!/SECRET/.test(piece) && haystack.includes(piece)) {
        found.push(`${name} (${piece})`)
        break
      }
    }
    if (haystack.includes(secret)) found.push(name)
  }
  return [...new Set(found)]
}

describe('secrets', () => {
  it('appear nowhere the proxy prints or serves, through traffic, faults and alerts', async () => {
    const seen: string[] = []
    for (let i = 0; i < 5; i++)
      seen.push(await chat('gpt-4o-mini'), await chat('claude-3-5-haiku-latest', { stream: true }))
    // Providers quote the credentials they were sent (OpenAI: "Incorrect API key provided: sk-..."),
    // in error answers, in errors of the client's request passed on to it, in a stream's error
    // event; the header's value has no key-like shape: only its value can find it.
    const quoting = (what: string) => `${what}: ${SECRETS.APIM_HEADER} / ${SECRETS.OPENAI_KEY_T}`
    mocks.openai.setProfile({
      latency: { ttft: 0, itl: 0 },
      faults: [
        { type: 'status', status: 401, rate: 0.3, message: quoting('Incorrect API key provided') },
        { type: 'status', status: 400, rate: 0.3, message: quoting('Bad request with key') },
        {
          type: 'stream_error',
          status: 500,
          at_chunk: 2,
          rate: 0.5,
          message: quoting('Stream failed for key'),
        },
        { type: 'reset', rate: 1 },
      ],
    })
    mocks.anthropic.setProfile({
      latency: { ttft: 0, itl: 0 },
      faults: [
        { type: 'status', status: 500, rate: 1, message: `internal failure for ${SECRETS.ANTH_KEY_T}` },
      ],
    })
    for (let i = 0; i < 10; i++)
      seen.push(
        await chat('gpt-4o-mini'),
        await chat('gpt-4o-mini', { stream: true }),
        await chat('claude-3-5-haiku-latest', { stream: true }),
      )
    // The quotes did reach the proxy, masked: a 400 passed on to the client keeps its message.
    expect(seen.join('\n')).toContain('Bad request with key: [redacted]')
    seen.push(await text('/v1/models', { headers: { authorization: 'Bearer sk-wrong-wrong-wrong' } }))
    // The alert fires and is delivered (one receiver failing, so a failed delivery is logged too).
    http.status = 500
    await waitFor(() => http.received.length >= 3 && mail.mails.length >= 1, 15_000)
    for (const path of [
      '/health',
      '/health/detailed',
      '/health/providers',
      '/metrics',
      '/metrics/prometheus',
    ])
      seen.push(await text(path))
    for (const path of ['/api/cache/stats', '/v1/models', '/debug/memory/profile'])
      seen.push(await text(path, { headers: admin }))
    const printed = spawnSync(
      process.execPath,
      ['proxy/src/server.ts', '--config', configFile, '--print-config'],
      {
        env,
        encoding: 'utf8',
      },
    )
    expect(printed.status).toBe(0)
    expect(JSON.parse(printed.stdout).providers[0].headers['Ocp-Apim-Subscription-Key']).toBe('[redacted]')
    const everything = [...seen, printed.stdout, printed.stderr, output.join('')].join('\n')
    expect(everything).toContain('upstream attempt') // debug logging was on
    expect(leaks(everything)).toEqual([])
  }, 60_000)
})
