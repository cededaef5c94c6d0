import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig } from '../../proxy/src/config/load.ts'
import { readCommandLine } from '../run/command-line.ts'
import { childPids, cpuMs } from '../run/procfs.ts'
import {
  AUTH,
  CHAT_REQUEST,
  outFlag,
  PROXY_ENV,
  runBench,
  saveResults,
  singleMockConfig,
  startMock,
  startProxy,
} from './common.ts'
import {
  checkAnswers,
  type Measurement,
  measure,
  measureTogether,
  median,
  type WarmUp,
  warmTogether,
} from './measure.ts'
import { asTarget, type Target } from './references.ts'
import {
  costPerRequest,
  type Goal,
  goalLine,
  type ProcessCpu,
  pct,
  projectedSpeedup,
  table,
  warmLine,
  workerShares,
} from './report.ts'
import type { Start } from './services.ts'

// npm run bench:workers: the proxy with server.workers 2 against server.workers 1 (defaults
// otherwise: logging on, cache off). On a 2-core machine the load generator and the mock need
// CPU too, so two workers can never show 1.8x in req/s here; the figure is computed from CPU time
// instead, which does not depend on who else runs:
// - paired: both proxies loaded at once (closed loop, nothing pinned), each process alike: the
//   single process over --connections, the cluster over as many for each worker (CPU time per
//   request falls as a process's load rises, fewer wake-ups of its event loop for as many requests:
//   a cluster driven as hard as one process would show each worker at a fraction of its load);
//   48 by default, so that the cluster's 96 fit in one worker's pool (POOL below);
//   CPU time per request of every process of each (the single process; the primary, each worker);
// - each worker's requests, from the cluster's own count (GET /metrics lists every worker's), so
//   that each worker's CPU time per request is known, its share of the primary's included;
// - projected speed-up: the cluster's throughput if each worker had a core of its own, limited by
//   its costliest worker (a load spread evenly over the workers is limited by the dearest), relative
//   to the single process on one core (report.ts projectedSpeedup);
// - for information, each proxy loaded alone: req/s on the shared machine.

const { values } = readCommandLine({
  usage: 'npm run bench:workers -- [options]',
  about:
    'The proxy with server.workers 2 against one process: the projected speed-up from CPU time a request\n' +
    'of each process (paired). Goal: 1.8x or more with 2 workers.',
  flags: {
    workers: { type: 'integer', default: 2, min: 2, max: 64, value: 'n', help: 'workers of the cluster' },
    seconds: { type: 'number', default: 8, min: 1, value: 's', help: 'length of each round' },
    rounds: { type: 'integer', default: 3, min: 1, value: 'n', help: 'rounds' },
    connections: {
      type: 'integer',
      default: 48,
      min: 1,
      value: 'n',
      help: 'connections to the single process, and to each worker',
    },
    out: outFlag('bench-workers'),
  },
})
const { workers, seconds, rounds, connections } = values
/**
 * A provider's connections in one process, as the proxy under test is configured
 * (http_client.pool_limits.max_connections). The cluster's connections stay within one worker's
 * pool: node:cluster may hand most of a burst of new connections to one worker, and requests past
 * its pool wait for a connection and may be shed (503), which is the proxy doing its job, not a
 * measure of its cost.
 */
const POOL = loadConfig({ document: singleMockConfig('http://127.0.0.1:1'), env: PROXY_ENV }).http_client
  .pool_limits.max_connections
if (connections * workers > POOL)
  throw new Error(`--connections x --workers must stay within ${POOL}, one worker's pool of connections`)
const body = JSON.stringify(CHAT_REQUEST)
const PATH = '/v1/chat/completions'
const LISTENING = /"msg":"llm proxy listening"/g

async function main(start: Start): Promise<void> {
  const mock = await startMock(start, { profile: 'zero' })
  const single = await startProxy(start, { name: 'proxy, 1 worker', mockUrl: mock.url, env: PROXY_ENV })
  const cluster = await startProxy(start, {
    name: `proxy, ${workers} workers`,
    mockUrl: mock.url,
    config: { server: { host: '127.0.0.1', port: 0, workers } },
    env: PROXY_ENV,
  })
  for (
    let waited = 0;
    (readFileSync(cluster.logFile, 'utf8').match(LISTENING) ?? []).length < workers;
    waited++
  ) {
    if (waited > 300) throw new Error(`${cluster.name}: its workers did not all listen within 30 s`)
    await sleep(100)
  }
  const targets = [
    asTarget(single.name, single, AUTH),
    { ...asTarget(cluster.name, cluster, AUTH), connections: connections * workers },
  ]

  // measureTogether reads each target's CPU before and after its run: keep each process's share.
  const readings = new Map<number, number[][]>(targets.map((t) => [t.pid, []]))
  const cpuOfTree = (pid: number) => {
    const parts = [pid, ...childPids(pid).sort((a, b) => a - b)].map((p) => cpuMs(p))
    readings.get(pid)!.push(parts)
    return parts.reduce((a, b) => a + b, 0)
  }
  const warm = await warmTogether(targets, { path: PATH, body, connections, cpuMs: cpuOfTree })
  const paired: { cpuUs: number[]; processes: ProcessCpu[] }[] = []
  for (let round = 0; round < rounds; round++) {
    for (const r of readings.values()) r.length = 0
    const before = await servedByWorker(cluster.url)
    const results = await measureTogether(targets, {
      path: PATH,
      body,
      connections,
      seconds,
      cpuMs: cpuOfTree,
    })
    const after = await servedByWorker(cluster.url)
    const processes = [
      processCpu(readings.get(targets[0].pid)!, [results[0].requests]),
      processCpu(
        readings.get(targets[1].pid)!,
        workerShares(
          childPids(targets[1].pid).sort((a, b) => a - b),
          before,
          after,
          results[1].requests,
          connections * workers,
        ),
      ),
    ]
    paired.push({ cpuUs: results.map((r) => r.cpuUs), processes })
    process.stderr.write(
      `paired ${round + 1}/${rounds}: CPU per request ${results.map((r, i) => `${targets[i].name} ${r.cpuUs.toFixed(1)} us`).join(', ')}; speed-up ${projectedSpeedup(processes[0], processes[1]).toFixed(2)}\n`,
    )
  }
  const alone = new Map<string, Measurement[]>(targets.map((t) => [t.name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) alone.get(t.name)!.push(await run(t))
  }
  report(targets, paired, alone, warm)
}

/** Per-process CPU of one run from the readings before and after it: [primary or single, ...workers]. */
function processCpu([before, after]: number[][], workerRequests: number[]): ProcessCpu {
  if (before.length !== after.length) throw new Error('a worker was replaced during the run')
  const used = after.map((ms, i) => ms - before[i])
  return used.length === 1
    ? { workersMs: used, primaryMs: 0, workerRequests }
    : { workersMs: used.slice(1), primaryMs: used[0], workerRequests }
}

/** Requests each worker of a cluster has served so far, by pid (the `workers` of GET /metrics). */
async function servedByWorker(url: string): Promise<Map<number, number>> {
  const response = await fetch(`${url}/metrics`)
  if (!response.ok) throw new Error(`GET /metrics: ${response.status}`)
  const document = (await response.json()) as { workers?: { pid: number; requests: number }[] }
  if (!document.workers) throw new Error('GET /metrics lists no workers: not a cluster')
  return new Map(document.workers.map((w) => [w.pid, w.requests]))
}

async function run(t: Target): Promise<Measurement> {
  const m = await measure({
    url: t.url,
    path: PATH,
    body,
    headers: t.headers,
    connections: t.connections ?? connections,
    seconds,
  })
  checkAnswers(t.name, m)
  return m
}

function report(
  targets: Target[],
  paired: { cpuUs: number[]; processes: ProcessCpu[] }[],
  alone: Map<string, Measurement[]>,
  warm: WarmUp,
): void {
  const speedup = median(paired.map((p) => projectedSpeedup(p.processes[0], p.processes[1])))
  const shares = (i: number) => {
    const last = paired.at(-1)!.processes[i]
    const total = last.primaryMs + last.workersMs.reduce((a, b) => a + b, 0)
    const parts = last.primaryMs ? [`primary ${pct(last.primaryMs / total)}`] : []
    const cost = costPerRequest(last)
    const workerParts = last.workersMs.map(
      (ms, w) => `worker ${w + 1} ${pct(ms / total)} (${(cost[w] * 1000).toFixed(1)} us/req)`,
    )
    return [...parts, ...workerParts].join(', ')
  }
  const rps = targets.map((t) => median(alone.get(t.name)!.map((m) => m.rps)))
  const goal: Goal = {
    name: `${workers} workers >= 1.8x the throughput of 1 (projected from CPU per request, a core per worker)`,
    met: speedup >= 1.8,
    detail: `${speedup.toFixed(2)}x`,
  }
  console.log(
    [
      `workers: ${rounds} rounds x ${seconds} s, ${connections} connections to the single process and ${connections} to each worker, non-streaming chat, zero-latency mock; nothing pinned`,
      warmLine(warm),
      '',
      table(
        [
          'proxy',
          'CPU us/req, all processes (paired)',
          'CPU split (last round)',
          'req/s alone, shared machine',
        ],
        targets.map((t, i) => [
          t.name,
          median(paired.map((p) => p.cpuUs[i])).toFixed(1),
          shares(i),
          rps[i].toFixed(0),
        ]),
      ),
      '',
      `projected speed-up on a core per worker: ${speedup.toFixed(2)}x (rounds: ${paired.map((p) => projectedSpeedup(p.processes[0], p.processes[1]).toFixed(2)).join(', ')})`,
      `measured req/s ratio with generator and mock on the same 2 cores: ${(rps[1] / rps[0]).toFixed(2)}x`,
      '',
      goalLine(goal),
    ].join('\n'),
  )
  saveResults(
    'bench-workers',
    { workers, seconds, rounds, connections, paired, alone: Object.fromEntries(alone), speedup, goal },
    values.out,
  )
}

runBench(main)
