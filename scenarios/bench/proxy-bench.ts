import { readCommandLine } from '../run/command-line.ts'
import { cpuMs } from '../run/procfs.ts'
import {
  CHAT_REQUEST,
  CONFIG_FLAG,
  chatRequestOfSize,
  loggedBytes,
  outFlag,
  PROMPT_KB_FLAG,
  runBench,
  saveResults,
  startMock,
} from './common.ts'
import {
  checkAnswers,
  type Measurement,
  measure,
  median,
  pairedRounds,
  type WarmUp,
  warmTogether,
} from './measure.ts'
import { EVERY_LINE, PROXY, startLineUp, type Target } from './references.ts'
import { equalCpu, equalCpuGoal, type Goal, goalLine, pct, table, warmLine } from './report.ts'
import { pinSelf, type Start } from './services.ts'

// npm run bench: the proxy with its default configuration (request logging on, cache off) against
// the fastest of several minimal gateways in the same run (fastify 5 + undici 7, fastify 5 +
// undici 8, node:http + undici 8 dispatch; see references.ts), plus the proxy writing a log line
// for every request (logging.request_lines_per_second: 0) for comparison. Every gateway gets CPU 0; the load generator and the zero-latency mock
// share CPU 1.
//
// Two measurements, both after the gateways were loaded together until they ran at steady state
// (measure.ts warmTogether: a gateway's JIT settles over tens of seconds, a larger one's later),
// because these machines are shared and noisy:
// 1. Paired: all gateways loaded at the same time, all on CPU 0, so whatever slows the machine
//    slows them alike; CPU time per request from /proc.
// 2. Alone: each gateway loaded by itself, rounds rotating the order, each slice after `--warmup`
//    seconds of the same load (it sat idle while the others ran); medians of req/s, of latency at
//    the same connection count and of CPU time per request (/proc). Latency added is read here.
// The throughput ratio on equal CPU is the median over rounds of (fastest reference's CPU per
// request / proxy's), read both ways, and the goal needs both (report.ts equalCpuGoal): six
// gateways sharing one core also share its caches, which costs the largest program more than it
// pays on a core of its own, while alone the fastest reference may be held back by the generator.
// The request is the small one of common.ts (the goal's); --prompt-kb N sends one of about N KB
// instead (a conversation's history before the question), where the cost of every byte shows.

const { values } = readCommandLine({
  usage: 'npm run bench -- [options]',
  about:
    'CPU a request and latency of the proxy (defaults, cache off) against the fastest of several minimal\n' +
    'gateways in the same run, each on CPU 0; the zero-latency mock and the load on CPU 1.',
  flags: {
    seconds: { type: 'number', default: 8, min: 1, value: 's', help: 'length of each measured round' },
    rounds: { type: 'integer', default: 3, min: 1, value: 'n', help: 'rounds, paired and alone' },
    connections: { type: 'integer', default: 64, min: 1, value: 'n', help: 'connections of the load' },
    warmup: {
      type: 'number',
      default: 2,
      min: 0,
      value: 's',
      help: 'load a gateway gets before it is measured alone',
    },
    config: CONFIG_FLAG,
    'prompt-kb': PROMPT_KB_FLAG,
    out: outFlag('bench'),
  },
})
const { seconds, rounds, connections, warmup } = values
const promptKb = values['prompt-kb']
const body = JSON.stringify(promptKb > 0 ? chatRequestOfSize(promptKb) : CHAT_REQUEST)
const PATH = '/v1/chat/completions'

async function main(start: Start): Promise<void> {
  pinSelf(1)
  const mock = await startMock(start, { name: 'mock (cpu 1)', profile: 'zero', cpu: 1 })
  const { references, proxy, everyLine, targets } = await startLineUp(start, mock.url, values.config)
  const served = new Map(targets.map((t) => [t.name, 0]))
  const count = (t: Target, m: Measurement) => {
    served.set(t.name, served.get(t.name)! + m.requests)
  }

  const warm = await warmTogether(targets, { path: PATH, body, connections, cpuMs })
  for (const [i, t] of targets.entries()) served.set(t.name, served.get(t.name)! + warm.requests[i])
  const { cpuUs: paired, runs } = await pairedRounds(targets, {
    path: PATH,
    body,
    connections,
    seconds,
    cpuMs,
    rounds,
  })
  for (const results of runs) for (const [i, m] of results.entries()) count(targets[i], m)

  const alone = new Map<string, Measurement[]>(targets.map((t) => [t.name, []]))
  const aloneCpu: Map<string, number>[] = []
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length])
    const cpu = new Map<string, number>()
    for (const t of order) {
      // Loaded again first: a gateway idle while the others ran pays for its return (caches, heap).
      count(t, await run(t, warmup))
      const before = cpuMs(t.pid)
      const m = await run(t, seconds)
      cpu.set(t.name, ((cpuMs(t.pid) - before) * 1000) / m.requests)
      count(t, m)
      alone.get(t.name)!.push(m)
      progress(
        `alone ${round + 1}/${rounds} ${t.name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(3)} ms, CPU ${cpu.get(t.name)!.toFixed(1)} us/req`,
      )
    }
    aloneCpu.push(cpu)
  }

  const logBytes = {
    [PROXY]: loggedBytes(proxy) / served.get(PROXY)!,
    [EVERY_LINE]: loggedBytes(everyLine) / served.get(EVERY_LINE)!,
  }
  report(
    references.map((r) => r.name),
    alone,
    aloneCpu,
    paired,
    logBytes,
    warm,
  )
}

async function run(target: Target, s: number): Promise<Measurement> {
  const m = await measure({
    url: target.url,
    path: PATH,
    body,
    headers: target.headers,
    connections,
    seconds: s,
  })
  checkAnswers(target.name, m)
  return m
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`)
}

function report(
  referenceNames: string[],
  alone: Map<string, Measurement[]>,
  aloneCpu: Map<string, number>[],
  paired: Map<string, number>[],
  logBytes: Record<string, number>,
  warm: WarmUp,
): void {
  const row = (name: string) => {
    const ms = alone.get(name)!
    return {
      rps: median(ms.map((m) => m.rps)),
      p50: median(ms.map((m) => m.p50)),
      p99: median(ms.map((m) => m.p99)),
      aloneCpuUs: median(aloneCpu.map((p) => p.get(name)!)),
      cpuUs: median(paired.map((p) => p.get(name)!)),
    }
  }
  const rows = new Map([...alone.keys()].map((name) => [name, row(name)]))
  const readings = { alone: equalCpu(aloneCpu, referenceNames), paired: equalCpu(paired, referenceNames) }
  const fastest = readings.paired.fastest
  const ratio = readings.paired.ratio
  const ratioAlone = readings.alone.ratio
  const lines = [
    `proxy overhead: ${rounds} rounds x ${seconds} s, ${connections} connections, non-streaming chat (${(Buffer.byteLength(body) / 1024).toFixed(1)} KB requests), zero-latency mock; gateways on CPU 0`,
    '',
    table(
      [
        'gateway',
        'req/s alone',
        'p50 ms',
        'p99 ms',
        'CPU us/req alone',
        'vs fastest alone',
        'CPU us/req (paired)',
        'vs fastest (paired)',
      ],
      [...rows].map(([name, r]) => [
        name,
        r.rps.toFixed(0),
        r.p50,
        r.p99,
        r.aloneCpuUs.toFixed(1),
        pct(ratioAlone(name)),
        r.cpuUs.toFixed(1),
        pct(ratio(name)),
      ]),
    ),
    '',
    `fastest reference in this run (lowest CPU per request): alone ${readings.alone.fastest}, paired ${fastest}; ${warmLine(warm)}`,
    '',
    table(
      ['proxy', 'reference', 'p50 added ms', 'p99 added ms', 'req/s alone ratio'],
      [PROXY, EVERY_LINE].flatMap((p) =>
        referenceNames.map((ref) => {
          const [a, b] = [rows.get(p)!, rows.get(ref)!]
          return [p, ref, a.p50 - b.p50, a.p99 - b.p99, pct(a.rps / b.rps)]
        }),
      ),
    ),
    '',
    `bytes logged per request: defaults ${logBytes[PROXY].toFixed(0)}, every request logged ${logBytes[EVERY_LINE].toFixed(0)}`,
  ]
  const proxy = rows.get(PROXY)!
  const best = rows.get(fastest)!
  const goals: Goal[] = [
    equalCpuGoal(readings, PROXY),
    {
      name: 'proxy (defaults) p99 <= the fastest reference p99',
      met: proxy.p99 <= best.p99,
      detail: `${proxy.p99.toFixed(2)} ms vs ${best.p99.toFixed(2)} ms`,
    },
  ]
  console.log([...lines, '', ...goals.map(goalLine)].join('\n'))
  saveResults(
    'bench',
    {
      seconds,
      rounds,
      connections,
      request_bytes: Buffer.byteLength(body),
      fastest,
      alone: Object.fromEntries(alone),
      alone_cpu_us: aloneCpu.map((p) => Object.fromEntries(p)),
      paired_cpu_us: paired.map((p) => Object.fromEntries(p)),
      summary: Object.fromEntries(
        [...rows].map(([n, r]) => [
          n,
          { ...r, throughput_vs_fastest: ratio(n), throughput_vs_fastest_alone: ratioAlone(n) },
        ]),
      ),
      log_bytes_per_request: logBytes,
      goals,
    },
    values.out,
  )
}

runBench(main)
