import { build } from 'hdr-histogram-js'
import { Pool } from 'undici'
import { readCommandLine } from '../run/command-line.ts'
import { rssMb } from '../run/procfs.ts'
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
  writeMockProfile,
  writeProxyConfig,
} from './common.ts'
import { goalLine, type ShedPhase, shedGoals } from './report.ts'
import type { Start } from './services.ts'

// npm run bench:shed: load shedding, in the case that used to collapse: a provider that takes 1 s
// per answer behind the proxy's default pool (100 connections: a capacity of about 100 req/s).
// Open-model load from the intended send time: first half the capacity (the unloaded latency),
// then three times the capacity. Goals: admitted requests keep p99 within twice the unloaded p99;
// shed requests (503 overloaded) are answered within 50 ms (p99); the proxy's RSS stays bounded.

const { values } = readCommandLine({
  usage: 'npm run bench:shed -- [options]',
  about:
    "Load shedding behind a slow provider: open-model load at half the proxy's capacity (its pool to the\n" +
    'provider over the time an answer takes: 100 req/s by default), then at three times it. Goals: the\n' +
    'proxy keeps admitting its capacity, admitted requests keep p99 within twice the unloaded p99, shed\n' +
    'requests (503) are answered within 50 ms (p99), nothing else fails.',
  flags: {
    'service-ms': {
      type: 'number',
      default: 1000,
      min: 10,
      value: 'ms',
      help: "the provider's time an answer",
    },
    seconds: { type: 'number', default: 20, min: 1, value: 's', help: 'length of the overloaded phase' },
    out: outFlag('bench-shed'),
  },
})
const serviceMs = values['service-ms']
const { seconds } = values
const body = JSON.stringify({ ...CHAT_REQUEST, max_tokens: 1 })

interface Phase extends ShedPhase {
  name: string
  rate: number
  seconds: number
  sent: number
  ok: number
  shed: number
  other: Record<string, number>
  ok_ms: { p50: number; p99: number; max: number }
  shed_ms: { p50: number; p99: number; max: number }
  rss_mb: { start: number; peak: number; end: number }
}

/** Requests at `rate` per second for `secs`, each timed from its intended send time. */
async function openLoad(url: string, pid: number, name: string, rate: number, secs: number): Promise<Phase> {
  const pool = new Pool(url, { connections: Math.ceil(rate * (serviceMs / 1000) * 4) + 50, pipelining: 1 })
  const ok = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  })
  const shed = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  })
  const other: Record<string, number> = {}
  const start = performance.now()
  const total = Math.round(rate * secs)
  const rss = { start: rssMb(pid) ?? 0, peak: 0, end: 0 }
  const sampler = setInterval(() => {
    rss.peak = Math.max(rss.peak, rssMb(pid) ?? 0)
  }, 250)
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const intended = start + (i * 1000) / rate
    const wait = intended - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    inFlight.push(
      pool
        .request({
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` },
          body,
          headersTimeout: 120_000,
          bodyTimeout: 120_000,
        })
        .then(
          async (res) => {
            await res.body.dump()
            const us = Math.max(1, Math.round((performance.now() - intended) * 1000))
            if (res.statusCode === 200) ok.recordValue(us)
            else if (res.statusCode === 503) shed.recordValue(us)
            else other[res.statusCode] = (other[res.statusCode] ?? 0) + 1
          },
          (err: Error) => {
            other[err.message] = (other[err.message] ?? 0) + 1
          },
        ),
    )
  }
  await Promise.all(inFlight)
  clearInterval(sampler)
  rss.end = rssMb(pid) ?? 0
  await pool.close()
  const ms = (h: typeof ok) => ({
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    max: h.maxValue / 1000,
  })
  const round = (x: number) => Math.round(x * 10) / 10
  return {
    name,
    rate,
    seconds: secs,
    sent: total,
    ok: ok.totalCount,
    shed: shed.totalCount,
    other,
    ok_ms: ms(ok),
    shed_ms: ms(shed),
    rss_mb: { start: round(rss.start), peak: round(rss.peak), end: round(rss.end) },
  }
}

async function main(start: Start): Promise<void> {
  const profile = writeMockProfile('shed', {
    latency: { ttft: serviceMs, itl: 0 },
    completion: { min_tokens: 1, max_tokens: 1 },
  })
  const mock = await start({
    name: 'mock',
    script: 'mock-providers/src/cli.ts',
    args: ['--profile', profile, '--openai-port', '0', '--anthropic-port', '0'],
    ready: MOCK_READY,
  })
  const config = writeProxyConfig('shed-bench', singleMockConfig(mock.url))
  const proxy = await start({
    name: 'proxy (defaults, cache off)',
    ...PROXY_SCRIPT,
    args: ['--config', config],
    env: QUIET_PROXY_ENV,
    ready: PROXY_READY,
  })
  const pid = proxy.child.pid as number
  // The capacity: as many answers in flight as the proxy admits to the provider (its pool), each
  // taking the provider's time.
  const admitted = (await (await fetch(`${proxy.url}/health/providers`)).json()).providers['mock-openai']
    .admission.max as number
  const capacity = (admitted * 1000) / serviceMs
  console.log(
    `provider: ${serviceMs} ms per answer; proxy admits ${admitted} at a time: capacity ${capacity.toFixed(0)} req/s\n`,
  )
  const unloaded = await openLoad(
    proxy.url,
    pid,
    'unloaded (0.5x capacity)',
    capacity / 2,
    Math.min(10, seconds),
  )
  const overloaded = await openLoad(proxy.url, pid, 'overloaded (3x capacity)', capacity * 3, seconds)
  const phases = [unloaded, overloaded]
  const health = await (await fetch(`${proxy.url}/health/providers`)).json()
  console.log('limiter:', JSON.stringify(health.providers['mock-openai'].admission))
  console.table(
    phases.map((p) => ({
      phase: p.name,
      'req/s': p.rate,
      sent: p.sent,
      ok: p.ok,
      shed: p.shed,
      'ok p50': p.ok_ms.p50,
      'ok p99': p.ok_ms.p99,
      'shed p50': p.shed_ms.p50,
      'shed p99': p.shed_ms.p99,
      'shed max': p.shed_ms.max,
      'rss peak MB': p.rss_mb.peak,
      other: JSON.stringify(p.other),
    })),
  )
  console.log(`\nRSS ${overloaded.rss_mb.start} -> peak ${overloaded.rss_mb.peak} MB`)
  const goals = shedGoals(unloaded, overloaded, capacity)
  console.log(goals.map(goalLine).join('\n'))
  saveResults('bench-shed', { serviceMs, capacity, phases, goals }, values.out)
}

runBench(main)
