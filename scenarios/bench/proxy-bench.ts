import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { stringify } from 'yaml'
import { type Measurement, measure, median } from './measure.ts'
import { pinSelf, type Service, startService } from './services.ts'

// npm run bench: the proxy's overhead, side by side in one run with two references: the mock
// called directly, and a minimal fastify + undici pass-through. The server under test gets
// CPU 0; the load generator and the upstream mock share CPU 1. Rounds alternate the targets so
// that drift on a shared machine hits them all alike; medians are reported.

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    out: { type: 'string' },
  },
})
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const connections = Number(values.connections)
const warmup = Number(values.warmup)

const KEY = 'sk-bench-client-key-000000'
const body = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Summarise the benefits of connection pooling in two sentences.' },
  ],
  max_tokens: 32,
})

const MOCK_READY = /mock-openai listening on (http:\/\/\S+)/
const services: Service[] = []

async function main(): Promise<void> {
  pinSelf(1)
  const upstreamMock = await start({
    name: 'mock (upstream, cpu 1)',
    script: 'mock-providers/src/cli.ts',
    args: mockArgs(),
    cpu: 1,
    ready: MOCK_READY,
  })
  const directMock = await start({
    name: 'mock (direct, cpu 0)',
    script: 'mock-providers/src/cli.ts',
    args: mockArgs(),
    cpu: 0,
    ready: MOCK_READY,
  })
  const passthrough = await start({
    name: 'passthrough',
    script: 'scenarios/bench/passthrough.ts',
    args: ['--upstream', `${upstreamMock.url}/v1`],
    cpu: 0,
    ready: /passthrough listening on (http:\/\/\S+)/,
  })
  const proxy = await start({
    name: 'proxy',
    script: 'proxy/src/server.ts',
    args: ['--config', proxyConfig(upstreamMock.url)],
    env: { APP_ENV: 'production', LOG_LEVEL: 'warn', PROXY_API_KEYS: KEY },
    cpu: 0,
    ready: /"address":"(http:\/\/[^"]+)"/,
  })
  const targets: { name: string; url: string; headers: Record<string, string> }[] = [
    { name: 'direct to mock', url: directMock.url, headers: {} },
    { name: 'fastify+undici pass-through', url: passthrough.url, headers: {} },
    { name: 'proxy (cache off)', url: proxy.url, headers: { authorization: `Bearer ${KEY}` } },
  ]
  const results = new Map<string, Measurement[]>(targets.map((t) => [t.name, []]))
  for (const t of targets) await run(t, warmup)
  for (let round = 0; round < rounds; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      const m = await run(t, seconds)
      results.get(t.name)!.push(m)
      process.stderr.write(
        `round ${round + 1}/${rounds} ${t.name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(3)} ms\n`,
      )
    }
  }
  report(results)
}

function mockArgs(): string[] {
  return ['--profile', 'zero', '--openai-port', '0', '--anthropic-port', '0']
}

async function start(options: Parameters<typeof startService>[0]): Promise<Service> {
  const service = await startService(options)
  services.push(service)
  return service
}

function proxyConfig(mockUrl: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-proxy-'))
  const file = join(dir, 'config.yaml')
  writeFileSync(
    file,
    stringify({
      server: { host: '127.0.0.1', port: 0 },
      logging: { level: 'info' },
      caching: { enabled: false },
      providers: [{ name: 'mock-openai', wire: 'openai', base_url: `${mockUrl}/v1` }],
      models: { 'gpt-4o-mini': { deployments: [{ provider: 'mock-openai' }] } },
    }),
  )
  return file
}

async function run(
  target: { url: string; headers: Record<string, string> },
  s: number,
): Promise<Measurement> {
  const m = await measure({
    url: target.url,
    path: '/v1/chat/completions',
    body,
    headers: target.headers,
    connections,
    seconds: s,
  })
  if (m.errors > 0 || m.non2xx > 0)
    throw new Error(`${target.url}: ${m.errors} errors, ${m.non2xx} non-2xx answers`)
  return m
}

function report(results: Map<string, Measurement[]>): void {
  const rows = [...results].map(([name, ms]) => ({
    name,
    rps: median(ms.map((m) => m.rps)),
    p50: median(ms.map((m) => m.p50)),
    p99: median(ms.map((m) => m.p99)),
  }))
  const [direct, passthrough, proxy] = rows
  const lines = [
    `proxy overhead benchmark: ${rounds} rounds x ${seconds}s, ${connections} connections, non-streaming, zero-latency mock`,
    '',
    '| target | req/s (median) | p50 ms | p99 ms | p50 added vs direct | p99 added vs direct |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${(r.p50 - direct.p50).toFixed(3)} | ${(r.p99 - direct.p99).toFixed(3)} |`,
    ),
    '',
    `proxy / pass-through throughput: ${((proxy.rps / passthrough.rps) * 100).toFixed(1)} % (goal >= 85 %)`,
    `proxy p50 added over the pass-through: ${(proxy.p50 - passthrough.p50).toFixed(3)} ms, p99: ${(proxy.p99 - passthrough.p99).toFixed(3)} ms`,
  ]
  console.log(lines.join('\n'))
  const out =
    values.out ?? join('reports', 'out', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(join(out, '..'), { recursive: true })
  writeFileSync(
    out,
    JSON.stringify(
      { seconds, rounds, connections, results: Object.fromEntries(results), summary: rows },
      null,
      2,
    ),
  )
  console.log(`\nraw results: ${out}`)
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => Promise.all(services.map((s) => s.stop())))
