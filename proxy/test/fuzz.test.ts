import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededRandom } from '../../scenarios/random.ts'
import { CLIENT_KEY, type Harness, startAll } from './helpers.ts'

// A seeded generator of malformed requests, sent through the real HTTP stack to a proxy in front of
// both mock wires: no answer is a 5xx, every error is in the OpenAI shape, and no provider is
// blamed (no provider failure is counted, every breaker stays closed).

const COUNT = 10_000
type Rand = () => number

const MODELS = ['gpt-4o-mini', 'claude-3-5-haiku-latest', 'resilient', 'no-such-model']
const FIELDS = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'n',
  'stop',
  'tools',
  'tool_choice',
  'user',
  'seed',
  'response_format',
  'logit_bias',
]
const MESSAGE_FIELDS = ['role', 'content', 'tool_calls', 'tool_call_id', 'name', 'function_call']

function pick<T>(r: Rand, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)] as T
}

function deep(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`
}

/** A value of a random JSON type, sometimes hostile. */
function junk(r: Rand, depth = 0): unknown {
  switch (Math.floor(r() * 12)) {
    case 0:
      return null
    case 1:
      return Math.floor(r() * 2 ** 53) * (r() < 0.5 ? -1 : 1)
    case 2:
      return r() < 0.5 ? 1e308 * 10 : -0.5
    case 3:
      return r() < 0.5 ? '' : '\u0000\ud800x'.repeat(Math.floor(r() * 4))
    case 4:
      return r() < 0.5
    case 5:
      return depth > 3 ? [] : [junk(r, depth + 1), junk(r, depth + 1)]
    case 6:
      return depth > 3 ? {} : { type: junk(r, depth + 1), function: junk(r, depth + 1) }
    case 7:
      return [null]
    case 8:
      return { role: 'user' }
    case 9:
      return [{ type: 'text' }, { type: 'image_url', image_url: junk(r, depth + 1) }]
    case 10:
      return [{ id: 1, type: 'function', function: { name: null, arguments: {} } }]
    default:
      return 'x'.repeat(Math.floor(r() * 40))
  }
}

function validBody(r: Rand): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: pick(r, MODELS),
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: `Question ${Math.floor(r() * 1000)}` },
    ],
    max_tokens: 8,
  }
  if (r() < 0.3) body.stream = true
  if (r() < 0.3)
    body.tools = [
      { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } },
    ]
  return body
}

/** One malformed request: raw bytes and headers. */
function malformed(r: Rand): { body: string; headers: Record<string, string> } {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    authorization: `Bearer ${CLIENT_KEY}`,
  }
  const kind = r()
  if (kind < 0.05) {
    const bytes = Array.from({ length: Math.floor(r() * 64) }, () =>
      String.fromCharCode(Math.floor(r() * 256)),
    )
    return { body: bytes.join(''), headers }
  }
  if (kind < 0.1) {
    const text = JSON.stringify(validBody(r))
    return { body: text.slice(0, Math.floor(r() * text.length)), headers }
  }
  if (kind < 0.13) return { body: r() < 0.5 ? deep(10_000) : `{"model":${deep(200)}}`, headers }
  if (kind < 0.16) return { body: JSON.stringify(junk(r)), headers }
  if (kind < 0.18)
    return { body: JSON.stringify(validBody(r)), headers: { ...headers, 'content-type': 'text/plain' } }
  const body = validBody(r)
  const mutations = 1 + Math.floor(r() * 3)
  for (let i = 0; i < mutations; i++) {
    const target = r()
    if (target < 0.45) {
      const field = pick(r, FIELDS)
      if (r() < 0.15) delete body[field]
      else body[field] = junk(r)
    } else {
      const messages = Array.isArray(body.messages) ? (body.messages as Record<string, unknown>[]) : []
      const message: Record<string, unknown> =
        r() < 0.5 && messages.length
          ? (messages[Math.floor(r() * messages.length)] as Record<string, unknown>)
          : {}
      if (message === null || typeof message !== 'object') continue
      const field = pick(r, MESSAGE_FIELDS)
      message.role ??= pick(r, ['assistant', 'tool', 'user'])
      message[field] = junk(r)
      if (!messages.includes(message)) messages.push(message)
      body.messages = messages
    }
  }
  return { body: JSON.stringify(body), headers }
}

function isOpenAIError(value: unknown): boolean {
  const error = (value as { error?: Record<string, unknown> } | null)?.error
  return (
    typeof error?.message === 'string' &&
    typeof error.type === 'string' &&
    typeof error.code === 'string' &&
    (error.param === null || typeof error.param === 'string')
  )
}

describe(`${COUNT} seeded malformed requests`, () => {
  let h: Harness
  let pool: Pool
  beforeAll(async () => {
    h = await startAll({
      profile: { latency: { ttft: 0, itl: 0 } },
      overrides: { caching: { enabled: true }, circuit_breaker: { failure_threshold: 1 } },
    })
    pool = new Pool(h.url, { connections: 8 })
  })
  afterAll(async () => {
    await pool.close()
    await h.close()
  })

  it('get no 5xx, only OpenAI-shaped errors, and never move a provider failure count', async () => {
    const r = seededRandom(20261130)
    const statuses = new Map<number, number>()
    const problems: string[] = []
    let next = 0
    const worker = async () => {
      while (next < COUNT) {
        const i = next++
        const { body, headers } = malformed(r)
        const res = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers, body })
        const text = await res.body.text()
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        if (res.statusCode >= 500)
          problems.push(`#${i} ${res.statusCode} ${text.slice(0, 200)} <- ${body.slice(0, 200)}`)
        else if (res.statusCode >= 400) {
          let parsed: unknown
          try {
            parsed = JSON.parse(text)
          } catch {}
          if (!isOpenAIError(parsed))
            problems.push(`#${i} ${res.statusCode} not OpenAI-shaped: ${text.slice(0, 200)}`)
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker))
    expect(problems.slice(0, 10)).toEqual([])
    const total = [...statuses.values()].reduce((a, b) => a + b, 0)
    expect(total).toBe(COUNT)
    // The generator reaches both outcomes: refused and served.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(COUNT / 4)
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100)
    const health = await (await fetch(`${h.url}/health/providers`)).json()
    for (const name of ['openai-a', 'anthropic-a']) {
      const p = health.providers[name]
      expect(p.breaker.state, name).toBe('closed')
      expect(p.breaker.times_opened, name).toBe(0)
      expect(p.recent.failures, name).toBe(0)
    }
    const metrics = await (await fetch(`${h.url}/metrics`)).json()
    for (const name of ['openai-a', 'anthropic-a']) expect(metrics.providers[name].failures, name).toBe(0)
  }, 120_000)
})
