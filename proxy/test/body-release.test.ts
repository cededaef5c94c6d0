import type { ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config/load.ts'
import { parseChatRequest, releaseBody } from '../src/providers/chat-request.ts'
import { CLIENT_KEY, postChat } from './helpers.ts'
import { completionBody, type HostileUpstream, startHostileUpstream } from './hostile-upstream.ts'

// A large chat request's parsed body is let go once the request is on its way to the provider
// (providers/chat-request.ts releaseBody): a stream in progress does not keep its conversation on
// the heap, and whatever reads the body later (a failover to a deployment that names the model
// differently) reads it again from the bytes, whole.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** A conversation of about `turns` * 110 bytes, with text that is not ASCII. */
function conversation(turns: number): { role: string; content: string }[] {
  return Array.from({ length: turns }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: `Turn ${i}: the pool keeps "sockets" open — café-sized limits starve a busy proxy.\n`,
  }))
}

function configDoc(providers: unknown[], models: Record<string, unknown>): Record<string, unknown> {
  return {
    logging: { level: 'silent' },
    caching: { enabled: false },
    auth: { api_keys: [CLIENT_KEY] },
    http_client: { retry_backoff_factor: 0.01, timeout: 5, read_timeout: 5, connect_timeout: 2 },
    streaming: { ping_interval: 0 },
    providers,
    models,
  }
}

const chunk = (delta: Record<string, unknown>) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`

describe("a large request's parsed body", () => {
  it('is read again from its bytes after a release, the same value; a small one is kept', () => {
    const large = { model: 'gpt-4o-mini', messages: conversation(40), temperature: 0.3, user: 'u-1' }
    const raw = Buffer.from(JSON.stringify(large))
    expect(raw.length).toBeGreaterThan(2048)
    const req = parseChatRequest(JSON.parse(raw.toString('utf8')), raw)
    const before = req.body
    releaseBody(req)
    expect(req.body).not.toBe(before)
    expect(req.body).toEqual(large)
    expect(req.body).toBe(req.body) // read again once, then kept

    const small = { model: 'gpt-4o-mini', messages: conversation(2) }
    const smallRaw = Buffer.from(JSON.stringify(small))
    const kept = parseChatRequest(JSON.parse(smallRaw.toString('utf8')), smallRaw)
    const body = kept.body
    releaseBody(kept)
    expect(kept.body).toBe(body)
  })

  it('reaches a failover deployment that names the model differently whole, after it was let go', async () => {
    const seen: Record<string, unknown>[] = []
    const failing = await startHostileUpstream((_req, body, res) => {
      seen.push(JSON.parse(body))
      // Answered once the proxy's route handler has long returned (and let the body go).
      setTimeout(
        () =>
          res
            .writeHead(503, { 'content-type': 'application/json' })
            .end('{"error":{"message":"overloaded","type":"server_error"}}'),
        30,
      )
    })
    const answering = await startHostileUpstream((_req, body, res) => {
      seen.push(JSON.parse(body))
      res.writeHead(200, { 'content-type': 'application/json' }).end(completionBody('hello'))
    })
    const app = await buildApp(
      loadConfig({
        document: configDoc(
          [
            { name: 'first', wire: 'openai', base_url: `${failing.url}/v1` },
            { name: 'second', wire: 'openai', base_url: `${answering.url}/v1` },
          ],
          {
            big: {
              deployments: [
                { provider: 'first', model: 'model-a' },
                { provider: 'second', model: 'model-b' },
              ],
            },
          },
        ),
      }),
      { logger: pino({ level: 'silent' }) },
    )
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 })
      const sent = { model: 'big', messages: conversation(60), temperature: 0.3, metadata: { k: 'v' } }
      expect(Buffer.byteLength(JSON.stringify(sent))).toBeGreaterThan(2048)
      const res = await postChat(url, sent)
      expect(res.status).toBe(200)
      expect((await res.json()).choices[0].message.content).toBe('hello')
      expect(seen).toHaveLength(2)
      expect(seen[0]).toEqual({ ...sent, model: 'model-a' })
      expect(seen[1]).toEqual({ ...sent, model: 'model-b' })
    } finally {
      await app.close()
      await failing.close()
      await answering.close()
    }
  })

  it('is not kept alive by a stream in progress', async () => {
    let held: ServerResponse | undefined
    const upstream: HostileUpstream = await startHostileUpstream((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Hel' }))
      held = res // the rest when the test says so
    })
    const app = await buildApp(
      loadConfig({
        document: configDoc([{ name: 'slow', wire: 'openai', base_url: `${upstream.url}/v1` }], {
          'gpt-4o-mini': { deployments: [{ provider: 'slow' }] },
        }),
      }),
      { logger: pino({ level: 'silent' }) },
    )
    let body: WeakRef<object> | undefined
    app.addHook('preHandler', (request, _reply, done) => {
      if (request.body !== null && typeof request.body === 'object') body = new WeakRef(request.body)
      done()
    })
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 })
      const sent = { model: 'gpt-4o-mini', messages: conversation(60), stream: true }
      const res = await postChat(url, sent)
      expect(res.status).toBe(200)
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      const decoder = new TextDecoder()
      let text = ''
      while (!text.includes('Hel')) text += decoder.decode((await reader.read()).value)
      expect(body).toBeDefined()
      // The stream is open (the provider has not finished it): its parsed body is garbage.
      for (let i = 0; i < 3 && body?.deref() !== undefined; i++) {
        await sleep(20)
        gc()
      }
      expect(body?.deref()).toBeUndefined()
      held?.end(`${chunk({ content: 'lo' })}data: [DONE]\n\n`)
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value)
      expect(text).toContain('"lo"')
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    } finally {
      await app.close()
      await upstream.close()
    }
  })
})
