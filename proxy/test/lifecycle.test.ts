import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

    // Cluster-wide figures: the primary aggregates every live worker.
    const scrape = await (await fetch(`${proxy.url}/metrics/prometheus`)).text()
    expect(scrape).toMatch(/^llm_proxy_worker_recycles_total [1-9]/m)
    expect(scrape).toMatch(/^llm_proxy_workers [2-9]/m)
    const metrics = await (
      await fetch(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })
    ).json()
    expect(metrics.scope).toBe('cluster')
    expect(metrics.workers.length).toBeGreaterThanOrEqual(2)
  }, 90_000)
})
