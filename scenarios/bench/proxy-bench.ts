import { parseArgs } from 'node:util'
import {
  BENCH_KEY,
  CHAT_REQUEST,
  MOCK_READY,
  PROXY_ENV,
  PROXY_READY,
  runBench,
  saveResults,
  singleMockConfig,
  writeProxyConfig,
} from './common.ts'
import { type Measurement, measure, measureTogether, median } from './measure.ts'
import { cpuMs, pinSelf, type Service, type startService } from './services.ts'

// npm run bench: the proxy's overhead, side by side in one run with two references: the mock
// called directly, and a minimal fastify + undici pass-through. The server under test gets
// CPU 0; the load generator and the upstream mock share CPU 1.
//
// Two measurements, because these machines are shared and noisy:
// 1. Sequential: each target alone, rounds alternating the order, medians of throughput and
//    latency. Latency added is read here.
// 2. Paired: the pass-through and the proxy loaded at the same time, both on CPU 0, so whatever
//    slows the machine slows both. The ratio of their CPU time per request (from /proc) is the
//    throughput ratio on equal CPU; the median of the per-round ratios is the headline figure.

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    config: { type: 'string', default: '{}' },
    out: { type: 'string' },
  },
})
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const connections = Number(values.connections)
const warmup = Number(values.warmup)

const body = JSON.stringify(CHAT_REQUEST)

interface Target {
  name: string
  url: string
  headers: Record<string, string>
  pid: number
}

async function main(start: (options: Parameters<typeof startService>[0]) => Promise<Service>): Promise<void> {
  pinSelf(1)
  const mockArgs = ['--profile', 'zero', '--openai-port', '0', '--anthropic-port', '0']
  const upstreamMock = await start({
    name: 'mock (upstream, cpu 1)',
    script: 'mock-providers/src/cli.ts',
    args: mockArgs,
    cpu: 1,
    ready: MOCK_READY,
  })
  const directMock = await start({
    name: 'mock (direct, cpu 0)',
    script: 'mock-providers/src/cli.ts',
    args: mockArgs,
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
    args: [
      '--config',
      writeProxyConfig('bench-proxy', singleMockConfig(upstreamMock.url, JSON.parse(values.config ?? '{}'))),
    ],
    env: PROXY_ENV,
    cpu: 0,
    ready: PROXY_READY,
  })
  const target = (name: string, s: Service, headers: Record<string, string> = {}): Target => ({
    name,
    url: s.url,
    headers,
    pid: s.child.pid!,
  })
  const direct = target('direct to mock', directMock)
  const pass = target('fastify+undici pass-through', passthrough)
  const proxied = target('proxy (cache off)', proxy, { authorization: `Bearer ${BENCH_KEY}` })
  const targets = [direct, pass, proxied]

  const sequential = new Map<string, Measurement[]>(targets.map((t) => [t.name, []]))
  for (const t of targets) await run(t, warmup)
  for (let round = 0; round < rounds; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      const m = await run(t, seconds)
      sequential.get(t.name)!.push(m)
      process.stderr.write(
        `sequential ${round + 1}/${rounds} ${t.name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(3)} ms\n`,
      )
    }
  }

  const paired: { passCpuUs: number; proxyCpuUs: number; passRps: number; proxyRps: number }[] = []
  for (let round = 0; round < rounds; round++) {
    const [a, b] = await measureTogether([pass, proxied], {
      path: '/v1/chat/completions',
      body,
      connections,
      seconds,
      cpuMs,
    })
    const r = { passCpuUs: a.cpuUs, proxyCpuUs: b.cpuUs, passRps: a.rps, proxyRps: b.rps }
    paired.push(r)
    process.stderr.write(
      `paired ${round + 1}/${rounds}: CPU per request pass-through ${r.passCpuUs.toFixed(1)} us, proxy ${r.proxyCpuUs.toFixed(1)} us\n`,
    )
  }
  report(sequential, paired)
}

async function run(target: Target, s: number): Promise<Measurement> {
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

function report(
  sequential: Map<string, Measurement[]>,
  paired: { passCpuUs: number; proxyCpuUs: number; passRps: number; proxyRps: number }[],
): void {
  const rows = [...sequential].map(([name, ms]) => ({
    name,
    rps: median(ms.map((m) => m.rps)),
    p50: median(ms.map((m) => m.p50)),
    p99: median(ms.map((m) => m.p99)),
  }))
  const [direct, passthrough, proxy] = rows
  const cpuRatio = median(paired.map((p) => p.passCpuUs / p.proxyCpuUs))
  const rpsRatio = median(paired.map((p) => p.proxyRps / p.passRps))
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`
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
    `sequential: proxy / pass-through throughput ${pct(proxy.rps / passthrough.rps)}`,
    `paired (both loaded at once, CPU 0 shared): CPU per request pass-through ${median(paired.map((p) => p.passCpuUs)).toFixed(1)} us, proxy ${median(paired.map((p) => p.proxyCpuUs)).toFixed(1)} us`,
    `paired: proxy / pass-through throughput on equal CPU ${pct(cpuRatio)} (goal >= 85 %), achieved req/s ratio ${pct(rpsRatio)}`,
    `proxy latency added over the pass-through: p50 ${(proxy.p50 - passthrough.p50).toFixed(3)} ms, p99 ${(proxy.p99 - passthrough.p99).toFixed(3)} ms`,
  ]
  console.log(lines.join('\n'))
  saveResults(
    'bench',
    { seconds, rounds, connections, sequential: Object.fromEntries(sequential), paired, summary: rows },
    values.out,
  )
}

runBench(main)
