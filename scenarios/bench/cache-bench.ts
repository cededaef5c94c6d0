import { createServer } from 'node:net'
import { request } from 'undici'
import { readCommandLine } from '../run/command-line.ts'
import { cpuMs } from '../run/procfs.ts'
import { loadTiers } from '../tiers.ts'
import { createWorkload } from '../workload.ts'
import {
  BENCH_KEY,
  CHAT_REQUEST,
  fixedLengthProfile,
  outFlag,
  PROXY_SCRIPT,
  saveResults,
  startMock,
  uniqueBodies,
  writeProxyConfig,
} from './common.ts'
import { checkAnswers, type Measurement, measure, median } from './measure.ts'
import { pinSelf, type Service, startService } from './services.ts'

// npm run bench:cache: the response cache's hit path against the minimal fastify + undici
// pass-through of `npm run bench` (goal: hits at >= 1.5x its throughput), side by side in one run,
// rounds alternating; then its miss path: every request a prompt never sent before, through the
// proxy with its default cache and with the cache off (what the cache costs traffic it cannot
// help, plain and streamed); then the hit rate of the mixed workload (tiers.yaml's corpus:
// Zipf-drawn prompts, the default scenario mix) through a proxy with an empty cache.
// Layout as in proxy-bench.ts: servers under test on CPU 0, load generator and mocks on CPU 1.

const { values } = readCommandLine({
  usage: 'npm run bench:cache -- [options]',
  about:
    "The response cache's hit path against a minimal pass-through (goal: hits at 1.5x its throughput or\n" +
    'more), its miss path (every prompt new) against the cache off, then the hit rate of the mixed\n' +
    'workload through a proxy with an empty cache.',
  flags: {
    seconds: { type: 'number', default: 8, min: 1, value: 's', help: 'length of each round' },
    rounds: { type: 'integer', default: 3, min: 1, value: 'n', help: 'rounds' },
    connections: { type: 'integer', default: 50, min: 1, value: 'n', help: 'connections of the load' },
    warmup: {
      type: 'number',
      default: 2,
      min: 0,
      value: 's',
      help: 'load each server gets before the rounds',
    },
    requests: { type: 'integer', default: 6000, min: 1, value: 'n', help: 'requests of the mixed workload' },
    concurrency: {
      type: 'integer',
      default: 20,
      min: 1,
      value: 'n',
      help: 'requests in flight in the mixed workload',
    },
    seed: { type: 'integer', default: 42, value: 'n', help: "seed of the mixed workload's prompts" },
    out: outFlag('bench-cache'),
  },
})
const { seconds, rounds, connections } = values
const KEY = BENCH_KEY
const ADMIN = 'sk-bench-admin-key-000000'
const body = JSON.stringify(CHAT_REQUEST)
const streamBody = JSON.stringify({ ...JSON.parse(body), stream: true })
const services: Service[] = []

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function start(options: Parameters<typeof startService>[0]): Promise<Service> {
  const service = await startService(options)
  services.push(service)
  return service
}

function proxyConfig(openai: string, anthropic: string, cache: boolean): string {
  return writeProxyConfig('bench-cache', {
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: 'info' },
    caching: { enabled: cache, warming: { enabled: false } },
    providers: [
      { name: 'mock-openai', wire: 'openai', base_url: `${openai}/v1` },
      { name: 'mock-anthropic', wire: 'anthropic', base_url: anthropic },
    ],
    models: {
      'gpt-4o-mini': { deployments: [{ provider: 'mock-openai' }] },
      'claude-3-5-haiku-latest': { deployments: [{ provider: 'mock-anthropic' }] },
    },
  })
}

async function startProxy(name: string, openai: string, anthropic: string, cache: boolean): Promise<Service> {
  return start({
    name,
    ...PROXY_SCRIPT,
    args: ['--config', proxyConfig(openai, anthropic, cache)],
    env: { APP_ENV: 'production', LOG_LEVEL: 'warn', PROXY_API_KEYS: KEY, PROXY_ADMIN_KEYS: ADMIN },
    cpu: 0,
    ready: /"address":"(http:\/\/[^"]+)"/,
  })
}

type Target = { name: string; url: string; body: string; headers: Record<string, string> }

async function run(t: Target, s: number): Promise<Measurement> {
  const m = await measure({
    url: t.url,
    path: '/v1/chat/completions',
    body: t.body,
    headers: t.headers,
    connections,
    seconds: s,
  })
  checkAnswers(t.name, m)
  return m
}

async function xCache(url: string, payload: string): Promise<string> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: payload,
  })
  await res.body.dump()
  return String(res.headers['x-cache'])
}

async function hitPath(openai: string, anthropic: string) {
  const passthrough = await start({
    name: 'passthrough',
    script: 'scenarios/bench/passthrough.ts',
    args: ['--upstream', `${openai}/v1`],
    cpu: 0,
    ready: /passthrough listening on (http:\/\/\S+)/,
  })
  const cached = await startProxy('proxy (cache on)', openai, anthropic, true)
  const uncached = await startProxy('proxy (cache off)', openai, anthropic, false)
  // Fill the cache: from now on every request of the run is a hit (checked).
  for (const payload of [body, streamBody]) {
    await xCache(cached.url, payload)
    const status = await xCache(cached.url, payload)
    if (status !== 'HIT') throw new Error(`the warmed proxy answered x-cache ${status}, not HIT`)
  }
  const auth = { authorization: `Bearer ${KEY}` }
  const targets: Target[] = [
    { name: 'fastify+undici pass-through', url: passthrough.url, body, headers: {} },
    { name: 'proxy, cache off (MISS path)', url: uncached.url, body, headers: auth },
    { name: 'proxy, cache hit', url: cached.url, body, headers: auth },
    { name: 'proxy, cache hit, stream replay', url: cached.url, body: streamBody, headers: auth },
  ]
  const results = new Map<string, Measurement[]>(targets.map((t) => [t.name, []]))
  for (const t of targets) await run(t, values.warmup)
  for (let round = 0; round < rounds; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      const m = await run(t, seconds)
      results.get(t.name)!.push(m)
      process.stderr.write(
        `round ${round + 1}/${rounds} ${t.name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(3)} ms\n`,
      )
    }
  }
  const stats = await (
    await fetch(`${cached.url}/api/cache/stats`, { headers: { authorization: `Bearer ${ADMIN}` } })
  ).json()
  const rows = [...results].map(([name, ms]) => ({
    name,
    rps: median(ms.map((m) => m.rps)),
    p50: median(ms.map((m) => m.p50)),
    p99: median(ms.map((m) => m.p99)),
  }))
  const base = rows[0]
  // Per round, each target against the pass-through of the same round: robust to a machine whose
  // load drifts between rounds (the targets of one round run back to back).
  const perRound = (name: string) =>
    median(results.get(name)!.map((m, i) => m.rps / results.get(targets[0].name)![i].rps))
  console.log(
    [
      `cache hit path: ${rounds} rounds x ${seconds}s, ${connections} connections, zero-latency mock, server on one core`,
      '',
      '| target | req/s (median) | x pass-through (medians) | x pass-through (median of rounds) | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.name} | ${r.rps.toFixed(0)} | ${(r.rps / base.rps).toFixed(2)} | ${perRound(r.name).toFixed(2)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} |`,
      ),
      '',
      `hit / pass-through throughput: ${perRound(targets[2].name).toFixed(2)}x, median of per-round ratios (goal >= 1.5x); response cache hit rate during the run ${(stats.hit_rate * 100).toFixed(2)} %`,
    ].join('\n'),
  )
  return { rows, results: Object.fromEntries(results) }
}

/** Chat requests whose prompts no request of the run sent before: every one a cacheable miss. */
/**
 * What the cache costs when it cannot help: every request a prompt never seen before (as most real
 * traffic is), through the proxy with its default cache and through one with the cache off. Each
 * miss is keyed, tracked for warming, fetched and stored; a streamed one through its flight.
 */
async function missPath(anthropic: string) {
  // Answers of one length (a cut one is told by its size): 64 tokens, as in bench:stream.
  const mock = await startMock(start, {
    name: 'mock, 64-token answers (cpu 1)',
    profile: fixedLengthProfile(64),
    cpu: 1,
  })
  const cached = await startProxy('proxy (cache on, every prompt new)', mock.url, anthropic, true)
  const uncached = await startProxy('proxy (cache off)', mock.url, anthropic, false)
  const auth = { authorization: `Bearer ${KEY}` }
  const fresh = {
    plain: uniqueBodies(CHAT_REQUEST, 'plain '),
    streamed: uniqueBodies({ ...CHAT_REQUEST, stream: true }, 'streamed '),
  }
  const sides = [
    { name: 'cache off', service: uncached },
    { name: 'cache on', service: cached },
  ]
  const kinds = [
    { name: 'plain', stream: false },
    { name: 'streamed', stream: true },
  ]
  type Run = Measurement & { cpuUs: number }
  const runs = new Map<string, Run[]>()
  const one = async (kind: (typeof kinds)[number], side: (typeof sides)[number], s: number): Promise<Run> => {
    const pid = side.service.child.pid as number
    const before = cpuMs(pid)
    const m = await measure({
      url: side.service.url,
      path: '/v1/chat/completions',
      body: '',
      fresh: kind.stream ? fresh.streamed : fresh.plain,
      headers: auth,
      connections,
      seconds: s,
    })
    checkAnswers(`${side.name}, ${kind.name}`, m)
    return { ...m, cpuUs: ((cpuMs(pid) - before) * 1000) / m.requests }
  }
  for (const kind of kinds) for (const side of sides) await one(kind, side, values.warmup)
  for (let round = 0; round < rounds; round++)
    for (const kind of kinds)
      for (const side of round % 2 ? [...sides].reverse() : sides) {
        const m = await one(kind, side, seconds)
        const key = `${kind.name}/${side.name}`
        runs.set(key, [...(runs.get(key) ?? []), m])
        process.stderr.write(
          `round ${round + 1}/${rounds} ${kind.name}, ${side.name}: ${m.rps.toFixed(0)} req/s, ${m.cpuUs.toFixed(1)} us CPU a request\n`,
        )
      }
  const stats = await (
    await fetch(`${cached.url}/api/cache/stats`, { headers: { authorization: `Bearer ${ADMIN}` } })
  ).json()
  const response = stats.caches.response
  if (response.hits !== 0) throw new Error(`the miss path had ${response.hits} cache hits: prompts repeated`)
  const of = (kind: string, side: string) => runs.get(`${kind}/${side}`) as Run[]
  const rows = kinds.map(({ name }) => {
    const [off, on] = [of(name, 'cache off'), of(name, 'cache on')]
    return {
      kind: name,
      offRps: median(off.map((m) => m.rps)),
      onRps: median(on.map((m) => m.rps)),
      // Per round: the two sides of a round ran back to back.
      ratio: median(on.map((m, i) => m.rps / off[i].rps)),
      offCpuUs: median(off.map((m) => m.cpuUs)),
      onCpuUs: median(on.map((m) => m.cpuUs)),
      offP99: median(off.map((m) => m.p99)),
      onP99: median(on.map((m) => m.p99)),
    }
  })
  console.log(
    [
      '',
      `cache miss path: every request a prompt never sent before, answers of 64 tokens from the zero-latency mock, ${rounds} rounds x ${seconds}s, ${connections} connections, proxy on one core, logging warn`,
      '',
      '| request | cache off req/s | cache on req/s | on / off (median of rounds) | CPU a request off / on (us) | p99 off / on (ms) |',
      '|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.kind} | ${r.offRps.toFixed(0)} | ${r.onRps.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.offCpuUs.toFixed(1)} / ${r.onCpuUs.toFixed(1)} | ${r.offP99.toFixed(2)} / ${r.onP99.toFixed(2)} |`,
      ),
      '',
      `stored ${response.stores} answers, ${response.entries} kept in ${(response.bytes / 1024 / 1024).toFixed(1)} MiB (compression ratio ${response.compression_ratio?.toFixed(2) ?? 'n/a'}), 0 hits`,
    ].join('\n'),
  )
  return { rows, runs: Object.fromEntries(runs) }
}

async function mixedHitRate(openai: string, anthropic: string) {
  const proxy = await startProxy('proxy (mixed workload)', openai, anthropic, true)
  const catalog = loadTiers()
  const tier = catalog.tiers.get('medium')!
  const workload = createWorkload({
    mix: tier.scenarios,
    corpus: catalog.corpus,
    seed: values.seed,
    apiKey: KEY,
  })
  const total = values.requests
  const checkpoints = [500, 1500, 3000, 6000, 12000, 24000].filter((n) => n < total).concat(total)
  const counts: Record<string, Record<string, number>> = {}
  const curve: { requests: number; chat_hit_rate: number }[] = []
  let sent = 0
  let done = 0
  let chatHits = 0
  let chatLookups = 0
  let errors = 0
  const worker = async () => {
    while (sent < total) {
      sent++
      const spec = workload.next()
      const res = await request(`${proxy.url}${spec.path}`, {
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
      })
      await res.body.dump()
      if (res.statusCode !== 200) errors++
      const status = String(res.headers['x-cache'] ?? 'none')
      counts[spec.scenario] ??= {}
      counts[spec.scenario][status] = (counts[spec.scenario][status] ?? 0) + 1
      if (spec.scenario === 'chat' || spec.scenario === 'chat-stream') {
        chatLookups++
        if (status === 'HIT') chatHits++
      }
      done++
      if (done === checkpoints[curve.length])
        curve.push({ requests: done, chat_hit_rate: chatHits / chatLookups })
    }
  }
  await Promise.all(Array.from({ length: values.concurrency }, worker))
  const stats = await (
    await fetch(`${proxy.url}/api/cache/stats`, { headers: { authorization: `Bearer ${ADMIN}` } })
  ).json()
  console.log(
    [
      '',
      `mixed workload hit rate: ${total} requests, tiers.yaml corpus (${catalog.corpus.size} prompts, Zipf s=${catalog.corpus.zipfExponent}, models ${catalog.corpus.models.join(', ')}), medium tier mix ${tier.scenarios.map((s) => `${s.name} ${s.weight}`).join(', ')}, seed ${values.seed}, cache empty at start, ${errors} errors`,
      '',
      '| requests sent | chat + chat-stream hit rate so far |',
      '|---|---|',
      ...curve.map((c) => `| ${c.requests} | ${(c.chat_hit_rate * 100).toFixed(1)} % |`),
      '',
      `x-cache by scenario: ${JSON.stringify(counts)}`,
      `response cache (proxy's own figures): hit rate ${(stats.caches.response.hit_rate * 100).toFixed(1)} %, ${stats.caches.response.entries} entries, ${(stats.caches.response.bytes / 1024).toFixed(0)} KiB, compression ratio ${stats.caches.response.compression_ratio?.toFixed(2)}; summary cache hit rate ${(stats.caches.summary.hit_rate * 100).toFixed(1)} %; model cache hit rate ${(stats.caches.model.hit_rate * 100).toFixed(1)} %; coalesced ${stats.coalescing?.coalesced}`,
    ].join('\n'),
  )
  return { curve, counts, stats }
}

async function main(): Promise<void> {
  pinSelf(1)
  const [openaiPort, anthropicPort] = [await freePort(), await freePort()]
  await start({
    name: 'mocks (cpu 1)',
    script: 'mock-providers/src/cli.ts',
    args: [
      '--profile',
      'zero',
      '--openai-port',
      String(openaiPort),
      '--anthropic-port',
      String(anthropicPort),
    ],
    cpu: 1,
    ready: /mock-anthropic listening on (http:\/\/\S+)/,
  })
  const openai = `http://127.0.0.1:${openaiPort}`
  const anthropic = `http://127.0.0.1:${anthropicPort}`
  const hit = await hitPath(openai, anthropic)
  const miss = await missPath(anthropic)
  const mixed = await mixedHitRate(openai, anthropic)
  saveResults('bench-cache', { seconds, rounds, connections, hit, miss, mixed }, values.out)
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => Promise.all(services.map((s) => s.stop())))
