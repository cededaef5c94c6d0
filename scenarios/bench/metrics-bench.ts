import pino from 'pino'
import { systemClock } from '../../proxy/src/clock.ts'
import { loadConfig } from '../../proxy/src/config/load.ts'
import type { RequestOutcome } from '../../proxy/src/observability/observer.ts'
import { Telemetry } from '../../proxy/src/observability/telemetry.ts'
import { readCommandLine } from '../run/command-line.ts'
import { cpuMs } from '../run/procfs.ts'
import {
  BENCH_KEY,
  CHAT_REQUEST,
  MOCK_READY,
  outFlag,
  PROXY_READY,
  PROXY_SCRIPT,
  QUIET_PROXY_ENV,
  runBench,
  saveResults,
  singleMockConfig,
  writeProxyConfig,
} from './common.ts'
import { checkAnswers, type Measurement, measure, measureTogether, median } from './measure.ts'
import { pinSelf, type Start } from './services.ts'

// npm run bench:metrics: what the proxy's metrics cost on the hot path. Two proxies, identical
// but for performance.monitoring_enabled (the Prometheus histograms and counters plus the
// sliding-window HDR histograms behind the JSON /metrics), take turns on CPU 0 against the same
// zero-latency mock on CPU 1 (with the load generator). Rounds alternate the order; medians.
// First, the same observers timed in-process (no HTTP, no noise from other processes): the
// cost of one request's observations in nanoseconds.

const { values } = readCommandLine({
  usage: 'npm run bench:metrics -- [options]',
  about:
    "What the proxy's metrics cost on the hot path: two proxies, identical but for\n" +
    'performance.monitoring_enabled, take turns against the zero-latency mock; first the observers timed\n' +
    'in-process.',
  flags: {
    seconds: { type: 'number', default: 8, min: 1, value: 's', help: 'length of each round' },
    rounds: { type: 'integer', default: 4, min: 1, value: 'n', help: 'rounds, the order alternating' },
    connections: { type: 'integer', default: 50, min: 1, value: 'n', help: 'connections of the load' },
    warmup: {
      type: 'number',
      default: 3,
      min: 0,
      value: 's',
      help: 'load each proxy gets before the rounds',
    },
    stream: { type: 'boolean', help: 'streamed answers' },
    out: outFlag('bench-metrics'),
  },
})
const { seconds, rounds, connections, warmup } = values

const body = JSON.stringify({ ...CHAT_REQUEST, ...(values.stream ? { stream: true } : {}) })

let micro: Record<string, number> = {}

async function run(url: string, s: number): Promise<Measurement> {
  const m = await measure({
    url,
    path: '/v1/chat/completions',
    body,
    headers: { authorization: `Bearer ${BENCH_KEY}` },
    connections,
    seconds: s,
  })
  checkAnswers(url, m)
  return m
}

/** Nanoseconds per request for the metrics observers alone: one outcome and one attempt each. */
function inProcessCost(): Record<string, number> {
  const config = loadConfig({
    document: {
      providers: [{ name: 'mock-openai', wire: 'openai', base_url: 'http://127.0.0.1:1/v1' }],
      models: { 'gpt-4o-mini': { deployments: [{ provider: 'mock-openai' }] } },
    },
  })
  const t = new Telemetry(config, { clock: systemClock, logger: pino({ level: 'silent' }) })
  const outcome: RequestOutcome = {
    requestId: 'bench',
    route: 'chat',
    model: 'gpt-4o-mini',
    provider: 'mock-openai',
    status: 200,
    stream: false,
    durationMs: 5.3,
    upstreamMs: 4.1,
    waitMs: 0,
    attempts: 1,
    cache: 'BYPASS',
    ttftMs: undefined,
    usage: { prompt_tokens: 20, completion_tokens: 32, total_tokens: 52 },
    errorCode: undefined,
    truncated: false,
    aborted: false,
  }
  const attempt = { provider: 'mock-openai', durationMs: 4.1, outcome: 'ok', status: 200 } as const
  const out: Record<string, number> = {}
  const observers = { 'sliding windows (JSON /metrics)': t.stats!, 'prom-client': t.prom, both: t.observer! }
  for (const [name, o] of Object.entries(observers)) {
    for (let i = 0; i < 200_000; i++) {
      o.request(outcome)
      o.attempt(attempt)
    }
    const samples: number[] = []
    for (let r = 0; r < 5; r++) {
      const n = 500_000
      const start = performance.now()
      for (let i = 0; i < n; i++) {
        o.request(outcome)
        o.attempt(attempt)
      }
      samples.push(((performance.now() - start) * 1e6) / n)
    }
    out[name] = median(samples)
  }
  return out
}

async function main(start: Start): Promise<void> {
  pinSelf(1)
  micro = inProcessCost()
  const mock = await start({
    name: 'mock',
    script: 'mock-providers/src/cli.ts',
    args: ['--profile', 'zero', '--openai-port', '0', '--anthropic-port', '0'],
    cpu: 1,
    ready: MOCK_READY,
  })
  const targets: { name: string; url: string; pid: number; headers: Record<string, string> }[] = []
  for (const monitoring of [true, false]) {
    const proxy = await start({
      name: `proxy (metrics ${monitoring ? 'on' : 'off'})`,
      ...PROXY_SCRIPT,
      args: [
        '--config',
        writeProxyConfig(
          'bench-metrics',
          singleMockConfig(mock.url, { performance: { monitoring_enabled: monitoring } }),
        ),
      ],
      env: QUIET_PROXY_ENV,
      cpu: 0,
      ready: PROXY_READY,
    })
    targets.push({
      name: proxy.name,
      url: proxy.url,
      pid: proxy.child.pid!,
      headers: { authorization: `Bearer ${BENCH_KEY}` },
    })
    const metrics = await (await fetch(`${proxy.url}/metrics`)).json()
    if (metrics.monitoring_enabled !== monitoring)
      throw new Error(`${proxy.name}: monitoring_enabled is not ${monitoring}`)
  }
  const results = new Map<string, Measurement[]>(targets.map((t) => [t.name, []]))
  for (const t of targets) await run(t.url, warmup)
  for (let round = 0; round < rounds; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      const m = await run(t.url, seconds)
      results.get(t.name)!.push(m)
      process.stderr.write(
        `round ${round + 1}/${rounds} ${t.name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(3)} ms, p99 ${m.p99.toFixed(3)} ms\n`,
      )
    }
  }
  const paired: number[][] = []
  for (let round = 0; round < rounds; round++) {
    const r = await measureTogether(targets, {
      path: '/v1/chat/completions',
      body,
      connections,
      seconds,
      cpuMs,
    })
    paired.push(r.map((x) => x.cpuUs))
    process.stderr.write(
      `paired ${round + 1}/${rounds}: CPU per request on ${r[0].cpuUs.toFixed(1)} us, off ${r[1].cpuUs.toFixed(1)} us\n`,
    )
  }
  report(results, paired)
}

function report(results: Map<string, Measurement[]>, paired: number[][]): void {
  const rows = [...results].map(([name, ms]) => ({
    name,
    rps: median(ms.map((m) => m.rps)),
    p50: median(ms.map((m) => m.p50)),
    p99: median(ms.map((m) => m.p99)),
  }))
  const [on, off] = rows
  const lines = [
    `metrics cost benchmark: ${rounds} rounds x ${seconds}s, ${connections} connections, ${values.stream ? 'streaming' : 'non-streaming'}, zero-latency mock`,
    '',
    '| proxy | req/s (median) | p50 ms | p99 ms |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} |`),
    '',
    `throughput with metrics / without: ${((on.rps / off.rps) * 100).toFixed(1)} %`,
    `p50 added by metrics: ${(on.p50 - off.p50).toFixed(3)} ms, p99: ${(on.p99 - off.p99).toFixed(3)} ms`,
    `per request (from throughput): ${((1 / on.rps - 1 / off.rps) * 1e6).toFixed(1)} us of CPU 0`,
    '',
    `paired (both loaded at once on CPU 0): CPU per request with metrics ${median(paired.map((p) => p[0])).toFixed(1)} us, without ${median(paired.map((p) => p[1])).toFixed(1)} us`,
    `paired: metrics cost ${median(paired.map((p) => p[0] - p[1])).toFixed(1)} us per request, throughput with / without on equal CPU ${(100 * median(paired.map((p) => p[1] / p[0]))).toFixed(1)} %`,
    '',
    'in-process, the observers alone (one request outcome + one upstream attempt):',
    ...Object.entries(micro).map(([name, ns]) => `  ${name}: ${ns.toFixed(0)} ns per request`),
  ]
  console.log(lines.join('\n'))
  saveResults(
    'bench-metrics',
    {
      seconds,
      rounds,
      connections,
      stream: values.stream,
      results: Object.fromEntries(results),
      summary: rows,
      in_process_ns: micro,
    },
    values.out,
  )
}

runBench(main)
