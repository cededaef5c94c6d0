import { connect } from 'node:net'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { startMocks } from '../../mock-providers/src/index.ts'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config/load.ts'
import { ERRORS, type ErrorCode } from '../src/errors.ts'
import type { RequestOutcome } from '../src/observability/observer.ts'
import { prepareDrain } from '../src/workers/drain.ts'
import {
  ADMIN_KEY,
  CLIENT_KEY,
  chatBody,
  configFor,
  type Harness,
  postChat,
  startAll,
  startProxy,
} from './helpers.ts'
import { completionBody, startHostileUpstream } from './hostile-upstream.ts'

// Every code of the error catalogue (proxy/ERRORS.md), raised through the proxy's HTTP surface by
// the situation it names, with the status the catalogue gives it. A code added without a way to
// raise it here fails the last test.

const raised = new Map<ErrorCode, number>()
const fast: ProfileInput = { latency: { ttft: 0, itl: 0 } }
const faulty = (fault: NonNullable<ProfileInput['faults']>[number]): ProfileInput => ({
  ...fast,
  faults: [fault],
})

async function expectCode(res: Response | { status: number; body: unknown }, code: ErrorCode): Promise<void> {
  const status = res instanceof Response ? res.status : res.status
  const body = res instanceof Response ? await res.json() : res.body
  expect((body as { error: { code: string } }).error.code).toBe(code)
  expect(status).toBe(ERRORS[code].status)
  raised.set(code, status)
}

async function withProxy(
  options: Parameters<typeof startAll>[0],
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const h = await startAll(options)
  try {
    await fn(h)
  } finally {
    await h.close()
  }
}

function rawStatus(url: string, bytes: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1')
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (d) => {
      data += d
    })
    socket.on('error', reject)
    socket.on('close', () =>
      resolve({
        status: Number(data.slice(9, 12)),
        body: JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4)),
      }),
    )
    socket.write(bytes)
  })
}

const auth = { authorization: `Bearer ${CLIENT_KEY}` }

describe('the error catalogue, raised', () => {
  it('request errors', async () => {
    await withProxy(
      { overrides: { server: { body_limit_mb: 0.01, headers_timeout: 0.5, request_timeout: 1 } } },
      async (h) => {
        await expectCode(await postChat(h.url, '{"model":'), 'invalid_json')
        await expectCode(await postChat(h.url, { model: 'gpt-4o-mini' }), 'invalid_request')
        await expectCode(
          await fetch(`${h.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'text/plain' },
            body: 'x',
          }),
          'unsupported_media_type',
        )
        await expectCode(
          await postChat(h.url, chatBody({ messages: [{ role: 'user', content: 'x'.repeat(20_000) }] })),
          'request_too_large',
        )
        await expectCode(
          await rawStatus(
            h.url,
            `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
          ),
          'request_header_too_large',
        )
        await expectCode(
          await rawStatus(
            h.url,
            `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${CLIENT_KEY}\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{`,
          ),
          'request_timeout',
        )
        await expectCode(await fetch(`${h.url}/v1/models`), 'missing_api_key')
        await expectCode(
          await fetch(`${h.url}/v1/models`, { headers: { authorization: 'Bearer sk-nope-nope-nope' } }),
          'invalid_api_key',
        )
        await expectCode(await fetch(`${h.url}/api/cache/stats`, { headers: auth }), 'admin_key_required')
        await expectCode(await fetch(`${h.url}/v1/nowhere`, { headers: auth }), 'not_found')
        await expectCode(await postChat(h.url, chatBody({ model: 'no-such-model' })), 'model_not_found')
        await expectCode(
          await fetch(`${h.url}/api/cache/warm`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ADMIN_KEY}` },
          }),
          'cache_disabled',
        )
      },
    )
  })

  it('provider answers', async () => {
    const cases: [ProfileInput, ErrorCode, number?][] = [
      [faulty({ type: 'status', status: 400, rate: 1 }), 'upstream_client_error'],
      [faulty({ type: 'status', status: 401, rate: 1 }), 'upstream_auth_failed'],
      [faulty({ type: 'status', status: 500, rate: 1 }), 'upstream_error'],
      [faulty({ type: 'status', status: 503, rate: 1 }), 'upstream_unavailable'],
      [faulty({ type: 'rate_limit', retry_after: '60s', rate: 1 }), 'rate_limit_exceeded'],
      [faulty({ type: 'reset', rate: 1 }), 'upstream_connection_reset'],
      [faulty({ type: 'hang', rate: 1 }), 'upstream_timeout'],
    ]
    for (const [profile, code] of cases) {
      await withProxy(
        { profile, overrides: { http_client: { timeout: 0.3, retry_attempts: 0 } } },
        async (h) => {
          await expectCode(await postChat(h.url, chatBody()), code)
        },
      )
    }
    // A prompt over the model's window, condensation off.
    await withProxy(
      {
        profile: { ...fast, models: { openai: [{ id: 'gpt-4o-mini', context_window: 50 }] } },
        overrides: { condensation: { enabled: false } },
      },
      async (h) => {
        await expectCode(
          await postChat(h.url, chatBody({ messages: [{ role: 'user', content: 'word '.repeat(200) }] })),
          'context_length_exceeded',
        )
      },
    )
  })

  it('provider failures the mocks cannot stage, from a hostile upstream', async () => {
    const garbage = await startHostileUpstream((_req, _body, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"not": "a completion"'),
    )
    // Looks like a completion at both ends, its usage readable, broken in the middle.
    const corrupt = await startHostileUpstream((_req, _body, res) => {
      const body = completionBody('hello').replace('"hello"', '"hel\u0000<html>')
      res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    })
    const empty = await startHostileUpstream((_req, _body, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(completionBody('')),
    )
    const cut = await startHostileUpstream((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n')
      res.write('data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n')
      setTimeout(() => res.destroy(), 20)
    })
    try {
      const providers = [
        { name: 'garbage', wire: 'openai', base_url: `${garbage.url}/v1` },
        { name: 'corrupt', wire: 'openai', base_url: `${corrupt.url}/v1` },
        { name: 'empty', wire: 'openai', base_url: `${empty.url}/v1` },
        { name: 'cut', wire: 'openai', base_url: `${cut.url}/v1` },
        { name: 'dead', wire: 'openai', base_url: 'http://127.0.0.1:9/v1' },
      ]
      const base = await startMocks({ profile: fast, seed: 2 })
      const h = await startProxy(base, {
        providers: [...(configFor(base).providers as unknown[]), ...providers],
        http_client: { retry_attempts: 0 },
        circuit_breaker: { failure_threshold: 1 },
        models: {
          garbage: { deployments: [{ provider: 'garbage' }] },
          corrupt: { deployments: [{ provider: 'corrupt' }] },
          empty: { deployments: [{ provider: 'empty' }] },
          cut: { deployments: [{ provider: 'cut' }] },
          dead: { deployments: [{ provider: 'dead' }] },
        },
      })
      try {
        await expectCode(await postChat(h.url, chatBody({ model: 'garbage' })), 'upstream_bad_response')
        await expectCode(await postChat(h.url, chatBody({ model: 'corrupt' })), 'upstream_bad_response')
        await expectCode(await postChat(h.url, chatBody({ model: 'dead' })), 'upstream_connect_failed')
        // The dead provider's breaker opened: nothing can take the call now.
        await expectCode(await postChat(h.url, chatBody({ model: 'dead' })), 'all_providers_unavailable')
        const stream = await postChat(h.url, chatBody({ model: 'cut', stream: true }))
        const events = (await stream.text()).split('\n\n').filter((e) => e.startsWith('data: '))
        const last = JSON.parse((events.at(-1) as string).slice(6))
        await expectCode({ status: 502, body: last }, 'stream_truncated')
        const condense = await fetch(`${h.url}/v1/context/condense`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'empty',
            target_tokens: 30,
            messages: Array.from({ length: 12 }, (_, i) => ({
              role: i % 2 ? 'assistant' : 'user',
              content: `turn ${i} `.repeat(20),
            })),
          }),
        })
        await expectCode(condense, 'condensation_failed')
      } finally {
        await h.app.close()
        await base.close()
      }
    } finally {
      await Promise.all([garbage.close(), corrupt.close(), empty.close(), cut.close()])
    }
  })

  it('the proxy itself: overloaded, shutting down, a profile in progress, an internal error, a client that left', async () => {
    const outcomes: RequestOutcome[] = []
    const observer = { request: (o: RequestOutcome) => outcomes.push(o), attempt() {}, breaker() {} }
    await withProxy(
      {
        profile: { latency: { ttft: 300, itl: 0 } },
        overrides: { server: { worker_connections: 1 } },
        deps: { observers: [observer] },
      },
      async (h) => {
        const first = postChat(h.url, chatBody())
        await new Promise((r) => setTimeout(r, 50))
        await expectCode(await postChat(h.url, chatBody()), 'overloaded')
        await (await first).text()
        // A client that leaves: nobody gets the 499, the request's record says it.
        const leaving = new AbortController()
        const left = fetch(`${h.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'leaving' }] })),
          signal: leaving.signal,
        }).catch(() => undefined)
        await new Promise((r) => setTimeout(r, 100))
        leaving.abort()
        await left
        await new Promise((r) => setTimeout(r, 400))
        const abandoned = outcomes.find((o) => o.errorCode === 'client_closed_request')
        expect(abandoned?.status).toBe(ERRORS.client_closed_request.status)
        raised.set('client_closed_request', 499)
      },
    )
    await withProxy({}, async (h) => {
      const admin = { authorization: `Bearer ${ADMIN_KEY}` }
      const profiling = fetch(`${h.url}/debug/profile?seconds=0.5`, { headers: admin })
      await new Promise((r) => setTimeout(r, 50))
      await expectCode(
        await fetch(`${h.url}/debug/profile?seconds=0.5`, { headers: admin }),
        'profile_in_progress',
      )
      await (await profiling).text()
    })
    // An internal error (a route that throws), and shutting_down: a draining proxy refuses new requests.
    const mocks = await startMocks({ profile: { latency: { ttft: 400, itl: 0 } }, seed: 1 })
    const app = await buildApp(loadConfig({ document: configFor(mocks) }), {
      logger: pino({ level: 'silent' }),
    })
    app.get('/v1/broken', async () => {
      throw new TypeError('a bug')
    })
    const drainer = prepareDrain(app)
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      await expectCode(await fetch(`${url}/v1/broken`, { headers: auth }), 'internal_error')
      const busy = postChat(url, chatBody())
      await new Promise((r) => setTimeout(r, 50))
      const drained = drainer.drain({ timeoutMs: 5000, logger: pino({ level: 'silent' }) })
      await expectCode(await postChat(url, chatBody()), 'shutting_down')
      expect((await busy).status).toBe(200)
      await drained
    } finally {
      await mocks.close()
    }
  })

  it('every code of the catalogue was raised above', () => {
    const missing = (Object.keys(ERRORS) as ErrorCode[]).filter((code) => !raised.has(code))
    expect(missing).toEqual([])
  })
})
