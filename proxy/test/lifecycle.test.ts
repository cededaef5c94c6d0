import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, fetch, Pool } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { type Mocks, startMocks } from '../../mock-providers/src/index.ts'
import { waitFor } from './alert-receivers.ts'
import { CLIENT_KEY, chatBody, configFor, postChat, sseData } from './helpers.ts'

// The proxy as `npm start` runs it, in a child process: SIGTERM drains in-flight requests and
// streams; under node:cluster a worker that reached max_requests is replaced without a request
// failing. No timing assertions: only outcomes.

interface Proxy {
  child: ChildProcess
  url: string
  lines: string[]
}

let running: Proxy | undefined
let mocks: Mocks | undefined

afterEach(async () => {
  const child = running?.child
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await once(child, 'exit')
    clearTimeout(timer)
  }
  running = undefined
  await mocks?.close()
  mocks = undefined
})

async function spawnProxy(overrides: Record<string, unknown>): Promise<Proxy> {
  const file = join(mkdtempSync(join(tmpdir(), 'proxy-life-')), 'config.yaml')
  const document = configFor(mocks!, {
    logging: { level: 'info', performance: false },
    caching: { enabled: false },
    server: { host: '127.0.0.1', port: 0 },
    ...overrides,
  })
  writeFileSync(file, stringify(document))
  const child = spawn(process.execPath, ['proxy/src/server.ts', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let buffer = ''
  const onData = (data: Buffer) => {
    buffer += data.toString()
    const parts = buffer.split('\n')
    buffer = parts.pop()!
    lines.push(...parts)
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  running = { child, url: '', lines }
  await waitFor(
    () => lines.some((l) => l.includes('"llm proxy listening"')) || child.exitCode !== null,
    20_000,
  )
  const line = lines.find((l) => l.includes('"llm proxy listening"'))
  if (!line) throw new Error(`the proxy did not start:\n${lines.join('\n')}`)
  running.url = JSON.parse(line).address
  return running
}

const logged = (p: Proxy, msg: string) =>
  p.lines.filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l))

/** Fires `count` requests now; resolves with each status (or the network error). */
function inFlight(url: string, count: number): Promise<(number | string)[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      postChat(url, chatBody({ max_tokens: 8, messages: [{ role: 'user', content: `request ${i}` }] })).then(
        async (r) => {
          await r.text()
          return r.status
        },
        (err) => String(err.cause ?? err),
      ),
    ),
  )
}

async function sigtermDuringLoad(overrides: Record<string, unknown>): Promise<void> {
  mocks = await startMocks({ profile: { latency: { ttft: '600ms', itl: '40ms' } }, seed: 3 })
  const proxy = await spawnProxy(overrides)
  const stream = postChat(proxy.url, chatBody({ stream: true, max_tokens: 20 }))
  const requests = inFlight(proxy.url, 12)
  await waitFor(() => mocks!.openai.stats().in_flight >= 13, 10_000)
  proxy.child.kill('SIGTERM')
  const statuses = await requests
  const events = await sseData(await stream)
  const [code] = await once(proxy.child, 'exit')
  expect(statuses).toEqual(Array(12).fill(200))
  expect(events.at(-1)).toBe('[DONE]')
  expect(events.length).toBeGreaterThan(2)
  expect(code).toBe(0)
}

describe('graceful shutdown', () => {
  it('drains in-flight requests and a stream in progress on SIGTERM (single process)', async () => {
    await sigtermDuringLoad({})
    expect(logged(running!, 'draining in-flight requests')).toHaveLength(1)
  }, 60_000)

  it('drains every worker on SIGTERM (node:cluster)', async () => {
    await sigtermDuringLoad({ server: { host: '127.0.0.1', port: 0, workers: 2 } })
    expect(logged(running!, 'worker draining').length).toBe(2)
  }, 60_000)
})

interface StreamResult {
  sentAfterDrain: boolean
  status: number | string
  ending: 'done' | 'error' | 'cut' | 'none'
  errorCode?: string
  connection: string | null
}

/**
 * Clients on kept-alive connections, each sending streams back to back until refused, while the
 * proxy is told to stop: what each request got, and whether it was sent after the proxy said it
 * was draining.
 */
async function sigtermUnderStreams(
  overrides: Record<string, unknown>,
  ready: (results: StreamResult[], started: number) => boolean,
) {
  const proxy = await spawnProxy(overrides)
  const pool = new Pool(proxy.url, { connections: 6, pipelining: 1 })
  const draining = () =>
    proxy.lines.some((l) => /"msg":"(draining in-flight requests|draining workers)"/.test(l))
  const results: StreamResult[] = []
  const client = async () => {
    for (let i = 0; i < 50; i++) {
      const sentAfterDrain = draining()
      try {
        const res = await pool.request({
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
          body: JSON.stringify(chatBody({ stream: true, max_tokens: 16 })),
        })
        const text = await res.body.text()
        const events = text
          .split('\n\n')
          .filter((e) => e.startsWith('data: '))
          .map((e) => e.slice(6))
        const last = events.at(-1)
        const ending =
          last === '[DONE]' ? 'done' : last?.includes('"error"') ? 'error' : events.length ? 'cut' : 'none'
        const errorCode =
          res.statusCode === 200
            ? last?.includes('"error"')
              ? JSON.parse(last).error.code
              : undefined
            : JSON.parse(text).error?.code
        results.push({
          sentAfterDrain,
          status: res.statusCode,
          ending,
          errorCode,
          connection: String(res.headers.connection ?? null),
        })
        if (res.statusCode !== 200) return
      } catch (err) {
        results.push({
          sentAfterDrain,
          status: String((err as Error).message),
          ending: 'none',
          connection: null,
        })
        return
      }
    }
  }
  let started = 0
  const counted = async () => {
    started++
    await client()
  }
  const clients = Promise.all(Array.from({ length: 6 }, counted))
  await waitFor(() => ready(results, started), 30_000)
  proxy.child.kill('SIGTERM')
  await clients
  const [code] = await once(proxy.child, 'exit')
  await pool.close()
  return { results, code }
}

describe('graceful shutdown under streams on kept-alive connections', () => {
  const profile = { latency: { ttft: '100ms', itl: '40ms' }, completion: { min_tokens: 16, max_tokens: 16 } }

  for (const [name, server] of [
    ['single process', { host: '127.0.0.1', port: 0, shutdown_timeout: 10 }],
    ['node:cluster', { host: '127.0.0.1', port: 0, shutdown_timeout: 10, workers: 2 }],
  ] as const) {
    it(`finishes streams in flight, starts no new one, exits 0 (${name})`, async () => {
      mocks = await startMocks({ profile, seed: 3 })
      // SIGTERM once every client's first stream is done: the next ones run on reused connections.
      const { results, code } = await sigtermUnderStreams({ server }, (r) => r.length >= 6)
      const served = results.filter((r) => r.status === 200)
      expect(served.length).toBeGreaterThanOrEqual(7)
      // Every stream that started ended properly: [DONE], never cut.
      expect(served.filter((r) => r.ending !== 'done')).toEqual([])
      // After the proxy said it was draining, no request got a stream.
      expect(results.filter((r) => r.sentAfterDrain && r.status === 200)).toEqual([])
      const refused = results.filter((r) => r.status === 503)
      for (const r of refused) expect(r).toMatchObject({ errorCode: 'shutting_down', connection: 'close' })
      expect(code).toBe(0)
    }, 60_000)
  }

  for (const [name, server] of [
    ['single process', { host: '127.0.0.1', port: 0, shutdown_timeout: 1 }],
    ['node:cluster', { host: '127.0.0.1', port: 0, shutdown_timeout: 1, workers: 2 }],
  ] as const) {
    it(`ends streams still open at the deadline with a shutting_down event, exits 0 (${name})`, async () => {
      mocks = await startMocks({
        profile: { latency: { ttft: '50ms', itl: '200ms' }, completion: { min_tokens: 40, max_tokens: 40 } },
        seed: 3,
      })
      // SIGTERM once every client's first stream has been sent (each takes about 8 s).
      const { results, code } = await sigtermUnderStreams(
        { server },
        (_r, started) => started >= 6 && mocks!.openai.stats().in_flight >= 6,
      )
      const served = results.filter((r) => r.status === 200)
      expect(served.length).toBeGreaterThanOrEqual(6)
      expect(served.filter((r) => r.ending === 'cut' || r.ending === 'none')).toEqual([])
      expect(served.filter((r) => r.ending === 'error').map((r) => r.errorCode)).toEqual(
        Array(served.length).fill('shutting_down'),
      )
      expect(code).toBe(0)
    }, 60_000)
  }
})

describe('worker recycling', () => {
  it('replaces a worker at max_requests under load without a failed request', async () => {
    mocks = await startMocks({ profile: { latency: { ttft: '2ms', itl: 0 } }, seed: 5 })
    const proxy = await spawnProxy({
      server: { host: '127.0.0.1', port: 0, workers: 2, max_requests: 200, max_requests_jitter: 20 },
    })
    const failures: string[] = []
    let sent = 0
    let ok = 0
    const recycled = () => logged(proxy, 'worker recycled').length
    // Eight clients in a loop until a worker has been replaced and then served some more.
    const client = async () => {
      let after = 0
      while (sent < 4000 && (recycled() === 0 || after < 50)) {
        sent++
        if (recycled() > 0) after++
        try {
          const res = await postChat(proxy.url, chatBody({ max_tokens: 4 }))
          await res.text()
          if (res.status === 200) ok++
          else failures.push(`HTTP ${res.status}`)
        } catch (err) {
          failures.push(String((err as Error).cause ?? err))
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, client))
    expect(failures).toEqual([])
    expect(ok).toBe(sent)
    expect(sent).toBeGreaterThan(200)
    const [event] = logged(proxy, 'worker recycled')
    expect(event.new_pid).not.toBe(event.old_pid)
    await waitFor(() => logged(proxy, 'worker draining').length >= 1, 10_000)

    // Cluster-wide figures: the primary aggregates every live worker. Asked on a new connection:
    // an idle one the clients left may belong to the retired worker, which closes it once it has
    // been quiet for a second, and a request sent as it closes fails on the client's side (the
    // keep-alive race of RFC 9112 9.3.1, which only the client can settle by retrying).
    const fresh = new Agent()
    try {
      const scrape = await (await fetch(`${proxy.url}/metrics/prometheus`, { dispatcher: fresh })).text()
      expect(scrape).toMatch(/^llm_proxy_worker_recycles_total [1-9]/m)
      expect(scrape).toMatch(/^llm_proxy_workers [2-9]/m)
      const metrics = (await (
        await fetch(`${proxy.url}/metrics`, {
          headers: { authorization: `Bearer ${CLIENT_KEY}` },
          dispatcher: fresh,
        })
      ).json()) as { scope: string; workers: unknown[] }
      expect(metrics.scope).toBe('cluster')
      expect(metrics.workers.length).toBeGreaterThanOrEqual(2)
    } finally {
      await fresh.close()
    }
  }, 90_000)
})
