import { request } from 'undici'
import { readCommandLine } from '../run/command-line.ts'
import { cpuMs } from '../run/procfs.ts'
import {
  AUTH,
  fixedLengthProfile,
  outFlag,
  runBench,
  saveResults,
  startMock,
  stealWatch,
  streamRequest,
} from './common.ts'
import { GcWatch } from './gc-tally.ts'
import { median, pairedRounds, type WarmUp, warmTogether } from './measure.ts'
import { type OpenResult, openLoop } from './open-loop.ts'
import { asTarget, PROXY, startLineUp, type Target } from './references.ts'
import {
  addedGoal,
  type Goal,
  generatorLine,
  goalLine,
  lowest,
  medianRound,
  openTable,
  ownTimeLine,
  pct,
  type Steal,
  stealLine,
  table,
  throughputRatio,
  warmLine,
} from './report.ts'
import { ahead, GENERATOR_NICE, pinSelf, type Start } from './services.ts'

// npm run bench:stream: streamed chat completions, 64 token chunks each from the zero-latency
// mock (all sent at once, as a fast provider's burst), through the proxy (defaults; and logging
// warn) and through the minimal gateways of references.ts, which pipe the bytes as they come.
// Gateways on CPU 0; mock and generator on CPU 1.
// 1. Paired: every gateway loaded at once (closed loop); CPU time per streamed request from /proc;
//    the proxy's throughput on equal CPU against the fastest reference (median of round ratios).
// 2. Open model at --rate streams per second to the mock directly and as many to one gateway,
//    interleaved, the proxy and the fastest reference each in runs of their own (one gateway on
//    CPU 0 at a time), the generator ahead of the mock on their core (services.ts ahead); time to
//    first data byte from the intended send time, and what the gateway adds to it over the direct
//    call. --open-rounds rounds (a run of each gateway a round), the proxy's read at the one
//    with the proxy's median added p99 (report.ts medianRound: one round's tail is the machine's),
//    of the rounds in which the generator kept its schedule (report.ts MAX_SEND_LAG_MS; a run where
//    it did not in most rounds is not judged).
// 3. Paced: the same streams with their tokens --itl ms apart, as a provider generates them (every
//    gateway relays each chunk as it comes, instead of one burst): CPU per stream, paired again.
//    What a stream costs in production; the goal is judged on the burst, where the proxy's fixed
//    cost per request weighs most.

const { values } = readCommandLine({
  usage: 'npm run bench:stream -- [options]',
  about:
    'Streamed chat completions (--tokens chunks from the zero-latency mock) through the proxy and through\n' +
    'minimal streaming pass-throughs: CPU a stream (paired), time to first byte added in the open model\n' +
    '(--rate streams a second), and CPU a stream with tokens --itl ms apart.',
  flags: {
    tokens: { type: 'integer', default: 64, min: 1, value: 'n', help: 'content chunks in each answer' },
    seconds: { type: 'number', default: 8, min: 1, value: 's', help: 'length of each paired round' },
    rounds: { type: 'integer', default: 3, min: 1, value: 'n', help: 'paired rounds' },
    connections: { type: 'integer', default: 32, min: 1, value: 'n', help: 'connections of the paired load' },
    rate: { type: 'number', default: 1000, min: 1, value: 'streams/s', help: 'open-model rate to each side' },
    'open-seconds': {
      type: 'number',
      default: 30,
      min: 1,
      value: 's',
      help: 'time measured in each open-model round',
    },
    'open-rounds': { type: 'integer', default: 3, min: 1, value: 'n', help: 'open-model rounds' },
    'open-warmup': {
      type: 'number',
      default: 10,
      min: 0,
      value: 's',
      help: "load before each gateway's first open-model round",
    },
    itl: {
      type: 'number',
      default: 5,
      min: 0,
      value: 'ms',
      help: 'time between tokens of the paced streams (0: no paced phase)',
    },
    out: outFlag('bench-stream'),
  },
})
const { tokens, seconds, rounds, connections, rate, itl } = values
const openSeconds = values['open-seconds']
const openRounds = values['open-rounds']
const openWarmup = values['open-warmup']
const body = JSON.stringify(streamRequest(tokens))
const PATH = '/v1/chat/completions'

async function main(start: Start): Promise<void> {
  pinSelf(1)
  const mock = await startMock(start, { name: 'mock (cpu 1)', profile: fixedLengthProfile(tokens), cpu: 1 })
  const { references, proxy, targets } = await startLineUp(start, mock.url)
  const events = new Map<string, number>()
  for (const t of targets) events.set(t.name, await dataEvents(t))

  const warm = await warmTogether(targets, { path: PATH, body, connections, cpuMs })
  const { cpuUs: paired, runs } = await pairedRounds(targets, {
    path: PATH,
    body,
    connections,
    seconds,
    cpuMs,
    rounds,
  })
  if (runs.some((r) => r.some((m) => m.requests === 0))) throw new Error('a gateway served no stream')
  const cpu = new Map(targets.map((t) => [t.name, median(paired.map((p) => p.get(t.name)!))]))
  const fastest = lowest(new Map(references.map((r) => [r.name, cpu.get(r.name)!])))

  const direct = { name: 'mock directly', url: mock.url, headers: {}, pid: mock.child.pid! }
  // Each gateway alone on CPU 0 in its run (with a second one there, each would wait for the
  // other's work, and the latency one seems to add would carry the other's cost).
  const gateways = [asTarget(PROXY, proxy, AUTH), references.find((r) => r.name === fastest)!]
  process.stderr.write(
    `open model: ${rate} streams/s to the mock and as many to one gateway, ${openRounds} rounds of ${openSeconds} s for each of ${gateways.length} gateways in turn\n`,
  )
  const watch = stealWatch([0, 1])
  // The proxy's collections in its open-model runs after the first (whose warm-up is its JIT's).
  const gc = new GcWatch(proxy.url)
  const open: OpenResult[][] = []
  const referenceOpen: OpenResult[][] = []
  const { nice } = await ahead(async () => {
    for (let r = 0; r < openRounds; r++)
      for (const gateway of gateways) {
        const isProxy = gateway === gateways[0]
        // The first run's warm-up is the generator's own (its code, its connections, the mock's).
        const warmupSeconds = r === 0 && isProxy ? openWarmup : 2
        const run = () =>
          openLoop(
            [direct, gateway].map((t) => ({ ...t, body })),
            {
              rate,
              seconds: openSeconds,
              warmupSeconds,
              onMeasureStart: r === 0 && isProxy ? watch.start : undefined,
            },
          )
        if (!isProxy) referenceOpen.push(await run())
        else if (r === 0 && openRounds > 1) open.push(await run())
        else open.push(await gc.measure(warmupSeconds + openSeconds, rate, run))
      }
  })
  const steal = watch.stop()
  const paced = itl > 0 ? await pacedRounds(mock.url, targets) : undefined
  report(targets, references, events, paired, cpu, fastest, open, referenceOpen, nice, warm, steal, paced, gc)
}

/** Phase 3: the mock sends each token --itl ms after the last; CPU per stream, paired. */
async function pacedRounds(mockUrl: string, targets: Target[]): Promise<Map<string, number>[]> {
  const profile = {
    description: `${tokens} tokens, ${itl} ms apart`,
    latency: { ttft: 0, itl },
    completion: { min_tokens: tokens, max_tokens: tokens },
  }
  const res = await request(`${mockUrl}/__mock/profile`, { method: 'PUT', body: JSON.stringify(profile) })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`the mock refused the paced profile: ${text.slice(0, 200)}`)
  process.stderr.write(`paced: tokens ${itl} ms apart\n`)
  // One round unmeasured: the gateways' connections fill with streams that take their time.
  const options = { path: PATH, body, connections, seconds, cpuMs }
  await pairedRounds(targets, { ...options, rounds: 1 })
  const { cpuUs, runs } = await pairedRounds(targets, { ...options, rounds })
  if (runs.some((r) => r.some((m) => m.requests === 0))) throw new Error('a gateway served no paced stream')
  return cpuUs
}

/** Data events in one stream through a target (a check that it relays the whole answer). */
async function dataEvents(t: Target): Promise<number> {
  const res = await request(`${t.url}${PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...t.headers },
    body,
  })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`${t.name}: ${res.statusCode} ${text.slice(0, 200)}`)
  return text.split('\n').filter((line) => line.startsWith('data:')).length
}

function report(
  targets: Target[],
  references: Target[],
  events: Map<string, number>,
  paired: Map<string, number>[],
  cpu: Map<string, number>,
  fastest: string,
  open: OpenResult[][],
  referenceOpen: OpenResult[][],
  nice: number,
  warm: WarmUp,
  steal: Steal,
  paced: Map<string, number>[] | undefined,
  gc: GcWatch,
): void {
  const ratio = (name: string) => throughputRatio(paired, name, fastest)
  const lines = [
    `streaming: ${tokens} token chunks a stream, zero-latency mock; paired ${rounds} x ${seconds} s at ${connections} connections each; open model ${rate} streams/s each, ${openRounds} rounds of ${openSeconds} s`,
    '',
    table(
      ['gateway', 'data events a stream', 'CPU us/stream (paired)', 'throughput vs fastest (paired)'],
      targets.map((t) => [
        t.name,
        String(events.get(t.name)),
        cpu.get(t.name)!.toFixed(0),
        pct(ratio(t.name)),
      ]),
    ),
    '',
    `fastest reference in this run: ${fastest}; ${warmLine(warm)}`,
    '',
  ]
  const proxyIndex = 1
  const read = medianRound(open, proxyIndex, 'ttfb')
  const { round, at, added: ttfbAdded, p99s } = read
  const referenceRead = medianRound(referenceOpen, 1, 'ttfb')
  const ms = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(', ')
  lines.push(
    `open model, the round with the proxy's median TTFB added p99 (${at + 1} of ${open.length}${read.judged ? '' : '; the run is not judged: see the goal'}):`,
    '',
    openTable(round, 'ttfb'),
    '',
    `${fastest} in the proxy's place, in runs of its own, the round with its median TTFB added p99 (what any gateway adds here; not judged):`,
    '',
    openTable(referenceRead.round, 'ttfb'),
    '',
    `TTFB added p99 by round: ${round[proxyIndex].name} ${ms(p99s)} ms; ${fastest} ${ms(referenceRead.p99s)} ms`,
  )
  const proxyOpen = round[proxyIndex]
  const own = ownTimeLine(proxyOpen, ttfbAdded)
  if (own) lines.push('', `${own} (to the first event)`)
  const collected = gc.line(PROXY)
  if (collected) lines.push('', collected)
  lines.push('', generatorLine(nice, GENERATOR_NICE))
  if (paced) lines.push('', ...pacedLines(targets, references, paced))
  const stolen = stealLine(steal)
  if (stolen) lines.push('', stolen)
  const goals: Goal[] = [
    {
      name: 'proxy (defaults) CPU per stream <= the fastest streaming reference',
      met: ratio(PROXY) >= 1,
      detail: `${cpu.get(PROXY)!.toFixed(0)} us vs ${cpu.get(fastest)!.toFixed(0)} us (${ratio(PROXY).toFixed(2)}x its throughput)`,
    },
    addedGoal(`TTFB added by the proxy p99 <= 1 ms at ${rate} streams/s`, read, {
      reference: { name: fastest, read: referenceRead },
    }),
  ]
  console.log([...lines, '', ...goals.map(goalLine)].join('\n'))
  saveResults(
    'bench-stream',
    {
      tokens,
      seconds,
      rounds,
      connections,
      rate,
      open_seconds: openSeconds,
      open_rounds: openRounds,
      open_warmup: openWarmup,
      fastest,
      warm_up: warm,
      proxy_gc: gc.result,
      data_events: Object.fromEntries(events),
      paired_cpu_us: paired.map((p) => Object.fromEntries(p)),
      cpu_us: Object.fromEntries(cpu),
      open,
      reference_open: referenceOpen,
      generator_nice: nice,
      steal,
      itl,
      paced_cpu_us: paced?.map((p) => Object.fromEntries(p)),
      goals,
    },
    values.out,
  )
}

/** The paced rounds' table: CPU per stream, each gateway against the fastest reference of those rounds. */
function pacedLines(targets: Target[], references: Target[], paced: Map<string, number>[]): string[] {
  const cpu = new Map(targets.map((t) => [t.name, median(paced.map((p) => p.get(t.name)!))]))
  const fastest = lowest(new Map(references.map((r) => [r.name, cpu.get(r.name)!])))
  return [
    `paced: tokens ${itl} ms apart, each chunk relayed as it comes; paired ${rounds} x ${seconds} s at ${connections} connections each`,
    '',
    table(
      ['gateway', 'CPU us/stream (paired)', 'throughput vs fastest (paired)'],
      targets.map((t) => [t.name, cpu.get(t.name)!.toFixed(0), pct(throughputRatio(paced, t.name, fastest))]),
    ),
  ]
}

runBench(main)
