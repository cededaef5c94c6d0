import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { readCommandLine } from '../run/command-line.ts'
import { threadCpuMs } from '../run/procfs.ts'
import {
  AUTH,
  CHAT_REQUEST,
  CONFIG_FLAG,
  chatRequestOfSize,
  fixedLengthProfile,
  PROMPT_KB_FLAG,
  PROXY_ENV,
  runBench,
  saveResults,
  startMock,
  startProxy,
  uniqueBodies,
} from './common.ts'
import { checkAnswers, type Measurement, measure } from './measure.ts'
import {
  busyUs,
  type CpuProfile,
  GC,
  PROGRAM,
  type ProfileSummary,
  summarize,
  topRows,
  type Window,
} from './profile-summary.ts'
import { DISPATCH_REFERENCE, REFERENCES, type Reference, startReference } from './references.ts'
import { table } from './report.ts'
import { pinSelf, type Service, type Start } from './services.ts'

// npm run bench:profile: where the proxy's CPU time per request goes, beside a minimal gateway's.
// The proxy (defaults, or --config / --log-level) and one reference gateway (references.ts; none
// with --reference none) each run under node's sampling CPU profiler on CPU 0, the zero-latency
// mock and the load on CPU 1. Each is loaded alone: --warmup seconds (its JIT settles), then
// --rounds rounds of --seconds each, the gateways taking turns (a slow spell of the shared machine
// falls on both, not on one gateway's only window); the samples of those windows are grouped by
// component (one of the project's
// files, a package, a part of node, a native binding, garbage collection) and divided by the
// requests it served. The profiles are saved for Chrome DevTools or speedscope. --stream N asks
// for streamed answers of N chunks, --itl MS paces their tokens that far apart (as a provider
// generates them: each chunk its own read and write; the core then waits between chunks, and what
// its wake-ups cost falls outside the main thread's samples: the rows read from /proc hold it);
// --prompt-kb N sends a request of about N KB (a conversation's
// history before the question, common.ts chatRequestOfSize) instead of the small one.

const { values } = readCommandLine({
  usage: 'npm run bench:profile -- [options]',
  about:
    "Where the proxy's CPU time a request goes, beside a minimal gateway's: each under node's sampling\n" +
    'profiler on CPU 0, loaded alone in turns; samples grouped by component, per request. The profiles\n' +
    'are saved for Chrome DevTools or speedscope.',
  flags: {
    seconds: { type: 'number', default: 5, min: 1, value: 's', help: 'length of each round' },
    rounds: { type: 'integer', default: 2, min: 1, value: 'n', help: 'rounds, the gateways taking turns' },
    warmup: {
      type: 'number',
      default: 15,
      min: 0,
      value: 's',
      help: 'load before the rounds (the JIT settles)',
    },
    connections: {
      type: 'integer',
      min: 1,
      value: 'n',
      help: 'connections of the load (default 64; 32 with --stream)',
    },
    stream: {
      type: 'integer',
      default: 0,
      min: 0,
      value: 'n',
      help: 'streamed answers of this many chunks (0: not streamed)',
    },
    itl: {
      type: 'number',
      default: 0,
      min: 0,
      value: 'ms',
      help: "time between a stream's tokens (with --stream)",
    },
    'prompt-kb': PROMPT_KB_FLAG,
    unique: {
      type: 'boolean',
      default: false,
      help: 'every request a prompt never sent before (with a cache on: its miss path)',
    },
    reference: {
      type: 'string',
      default: 'dispatch',
      choices: ['dispatch', 'fastify-dispatch', 'fastify-request', 'none'],
      help: 'the reference gateway profiled beside the proxy',
    },
    'log-level': {
      type: 'string',
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      help: "the proxy's LOG_LEVEL (default: its configuration's)",
    },
    config: CONFIG_FLAG,
    interval: {
      type: 'integer',
      default: 250,
      min: 10,
      value: 'us',
      help: "the profiler's sampling interval",
    },
    top: { type: 'integer', default: 25, min: 1, value: 'n', help: 'rows of the tables' },
    out: {
      type: 'string',
      value: 'dir',
      help: 'directory for the profiles and summary (default reports/out/bench-profile-<time>)',
    },
  },
  check: (v) =>
    v.itl > 0 && v.stream === 0 ? '--itl paces streamed answers: give --stream N too' : undefined,
})
const { seconds, rounds, warmup, itl, top, config } = values
const tokens = values.stream
const connections = values.connections ?? (tokens > 0 ? 32 : 64)
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const outDir = resolve(values.out ?? join('reports', 'out', `bench-profile-${stamp}`))
const ROOT = resolve('.')
const promptKb = values['prompt-kb']
const request = promptKb > 0 ? chatRequestOfSize(promptKb) : CHAT_REQUEST
const sent = tokens > 0 ? { ...request, max_tokens: tokens, stream: true } : request
const body = JSON.stringify(sent)
const fresh = values.unique ? uniqueBodies(sent) : undefined
const PATH = '/v1/chat/completions'

const REFERENCE_KEYS: Record<string, Reference | undefined> = {
  dispatch: DISPATCH_REFERENCE,
  'fastify-dispatch': REFERENCES.find((r) => r.name === 'fastify 5 + undici 8 dispatch'),
  'fastify-request': REFERENCES.find((r) => r.name === 'fastify 5 + undici 8 request'),
  none: undefined,
}

interface Gateway {
  readonly name: string
  /** Its profile's file name, without .cpuprofile. */
  readonly file: string
  readonly service: Service
  readonly headers: Record<string, string>
}

interface Profiled {
  readonly name: string
  readonly file: string
  /** Requests per second it served in its warm-up. */
  readonly capacity: number
  /** Requests it answered in its windows. */
  readonly requests: number
  readonly windows: readonly Window[]
  /** CPU time (user + system) of its threads in its windows by /proc, by kind (see threadKind). */
  readonly threadsMs: Record<ThreadKind, number>
}

type ThreadKind = 'main' | 'v8' | 'libuv' | 'profiler' | 'other'

/** What a thread of node does, by its name. */
function threadKind(tid: number, pid: number, name: string): ThreadKind {
  if (tid === pid) return 'main'
  if (name === 'V8Worker' || name.startsWith('DelayedTask')) return 'v8'
  if (name === 'libuv-worker') return 'libuv'
  if (name.startsWith('v8:Prof')) return 'profiler'
  return 'other'
}

/** CPU time each kind of thread of `pid` used between two readings of threadCpuMs. */
function threadsBetween(
  pid: number,
  before: ReturnType<typeof threadCpuMs>,
  after: ReturnType<typeof threadCpuMs>,
): Record<ThreadKind, number> {
  const out: Record<ThreadKind, number> = { main: 0, v8: 0, libuv: 0, profiler: 0, other: 0 }
  for (const [tid, t] of after) out[threadKind(tid, pid, t.name)] += t.ms - (before.get(tid)?.ms ?? 0)
  return out
}

/** Node's options that profile a process into `dir/name.cpuprofile`, written when it exits. */
function profilerArgs(name: string): string[] {
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${outDir}`,
    `--cpu-prof-name=${name}.cpuprofile`,
    `--cpu-prof-interval=${values.interval}`,
  ]
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n)

/** The gateway loaded alone for `s` seconds; every request must have been answered 2xx. */
async function closedLoop(g: Gateway, s: number): Promise<Measurement> {
  const m = await measure({
    url: g.service.url,
    path: PATH,
    body,
    ...(fresh && { fresh }),
    headers: g.headers,
    connections,
    seconds: s,
  })
  if (m.requests === 0) throw new Error(`${g.name}: no request answered`)
  checkAnswers(g.name, m)
  return m
}

/** Its throughput alone, closed loop, over the warm-up (its JIT settles meanwhile). */
async function warm(g: Gateway): Promise<number> {
  process.stderr.write(`${g.name}: ${warmup} s of warm-up\n`)
  return (await closedLoop(g, warmup)).rps
}

/** One window of a gateway's: what it served and what its threads used. */
interface Measured {
  readonly requests: number
  readonly window: Window
  readonly threadsMs: Record<ThreadKind, number>
}

/**
 * One measured window, closed loop like the warm-up: the core is the gateway's alone and never
 * idle, so the profile's time a request is the core's time a request, what its throughput is the
 * inverse of. (In an open model below its throughput a gateway waits between requests, and what
 * each wake-up costs the kernel falls outside the samples of its main thread.)
 */
async function measureWindow(g: Gateway): Promise<Measured> {
  const pid = g.service.child.pid as number
  const before = threadCpuMs(pid)
  const fromUs = monotonicUs()
  const m = await closedLoop(g, seconds)
  const toUs = monotonicUs()
  return {
    requests: m.requests,
    window: { fromUs, toUs },
    threadsMs: threadsBetween(pid, before, threadCpuMs(pid)),
  }
}

/** A gateway's windows together; stops it, so that its profile is written. */
async function profiled(g: Gateway, capacity: number, windows: readonly Measured[]): Promise<Profiled> {
  await g.service.stop()
  const threadsMs: Record<ThreadKind, number> = { main: 0, v8: 0, libuv: 0, profiler: 0, other: 0 }
  for (const w of windows)
    for (const k of Object.keys(threadsMs) as ThreadKind[]) threadsMs[k] += w.threadsMs[k]
  return {
    name: g.name,
    file: g.file,
    capacity,
    requests: windows.reduce((n, w) => n + w.requests, 0),
    windows: windows.map((w) => w.window),
    threadsMs,
  }
}

function read(p: Profiled): ProfileSummary {
  const profile = JSON.parse(readFileSync(join(outDir, `${p.file}.cpuprofile`), 'utf8')) as CpuProfile
  const summary = summarize(profile, ROOT, p.windows)
  // The windows must lie within the profile (both read CLOCK_MONOTONIC): a clock that disagrees reads nothing.
  const spanUs = p.windows.reduce((t, w) => t + w.toUs - w.fromUs, 0)
  if (summary.sampledUs < 0.5 * spanUs)
    throw new Error(
      `${p.name}: the profile covers only ${(summary.sampledUs / 1e6).toFixed(1)} s of its ${(spanUs / 1e6).toFixed(1)} s of windows`,
    )
  return summary
}

async function main(start: Start): Promise<void> {
  const key = values.reference
  const workers = (config.server as { workers?: number } | undefined)?.workers
  if (workers !== undefined && workers > 1) throw new Error('profile one process: server.workers must be 1')
  pinSelf(1)
  const mock = await startMock(start, {
    name: 'mock (cpu 1)',
    profile: tokens > 0 ? fixedLengthProfile(tokens, { itl }) : 'zero',
    cpu: 1,
  })
  const env = values['log-level'] ? { ...PROXY_ENV, LOG_LEVEL: values['log-level'] } : PROXY_ENV
  const proxyName = `proxy (${values['log-level'] ? `logging ${values['log-level']}` : 'defaults'})`
  const proxy = await startProxy(start, {
    name: proxyName,
    mockUrl: mock.url,
    config,
    env,
    cpu: 0,
    nodeArgs: profilerArgs('proxy'),
  })
  const gateways: Gateway[] = [{ name: proxyName, file: 'proxy', service: proxy, headers: AUTH }]
  const reference = REFERENCE_KEYS[key]
  if (reference) {
    const service = await startReference(start, reference, mock.url, 0, profilerArgs('reference'))
    gateways.push({ name: reference.name, file: 'reference', service, headers: {} })
  }
  const capacities: number[] = []
  for (const g of gateways) capacities.push(await warm(g))
  const windows: Measured[][] = gateways.map(() => [])
  for (let r = 0; r < rounds; r++)
    for (const [i, g] of gateways.entries()) {
      process.stderr.write(`${g.name}: round ${r + 1} of ${rounds}, ${seconds} s profiled\n`)
      windows[i]?.push(await measureWindow(g))
    }
  const results: Profiled[] = []
  for (const [i, g] of gateways.entries())
    results.push(await profiled(g, capacities[i] as number, windows[i] as Measured[]))
  const summaries = results.map(read)
  console.log(report(results, summaries))
  saveResults(
    'bench-profile',
    {
      tokens,
      itl,
      connections,
      seconds,
      warmup,
      rounds,
      profiles: results.map((p, i) => ({
        ...p,
        file: join(outDir, `${p.file}.cpuprofile`),
        busy_us_per_request: busyUs(summaries[i] as ProfileSummary) / p.requests,
        components_us_per_request: perRequest((summaries[i] as ProfileSummary).components, p.requests),
      })),
    },
    join(outDir, 'summary.json'),
  )
  console.log(`profiles (Chrome DevTools, speedscope): ${outDir}`)
}

function perRequest(map: ReadonlyMap<string, number>, requests: number): Record<string, number> {
  return Object.fromEntries([...map].map(([k, v]) => [k, v / requests]))
}

/** The tables: busy time a request, by component and by function, the reference beside the proxy. */
function report(profiled: readonly Profiled[], summaries: readonly ProfileSummary[]): string {
  const [proxy, reference] = profiled as [Profiled, Profiled | undefined]
  const [p, r] = summaries as [ProfileSummary, ProfileSummary | undefined]
  const us = (v: number, requests: number) => v / requests
  const pr = proxy.requests
  const rr = reference?.requests ?? 1
  const what =
    tokens === 0
      ? 'non-streamed chat requests'
      : `streamed requests of ${tokens} chunks${itl > 0 ? ` ${itl} ms apart` : ''}`
  const headers = ['', `${proxy.name} us/req`, '% of busy']
  if (reference) headers.push(`${reference.name} us/req`, 'difference')
  const row = (name: string, a: number, b: number) => {
    const cells: (string | number)[] = [name, us(a, pr), `${((100 * a) / busyUs(p)).toFixed(1)} %`]
    if (reference) cells.push(us(b, rr), us(a, pr) - us(b, rr))
    return cells
  }
  const busyRow = row('busy (main thread, all below)', busyUs(p), r ? busyUs(r) : 0)
  const procRow = (name: string, of: (g: Profiled) => number) => {
    const cells: (string | number)[] = [name, (of(proxy) * 1000) / pr, '']
    if (reference)
      cells.push((of(reference) * 1000) / rr, (of(proxy) * 1000) / pr - (of(reference) * 1000) / rr)
    return cells
  }
  const components = topRows(p.components, r?.components, top)
  const shown = components.reduce((s, c) => s + c.a, 0)
  const shownRef = components.reduce((s, c) => s + c.b, 0)
  const functions = topRows(p.functions, undefined, Math.min(top, 20))
  const lines = [
    `CPU profile: ${what}, each gateway alone on CPU 0 at ${connections} connections (closed loop), ${rounds} rounds of ${seconds} s taking turns, after ${warmup} s of warm-up; ${itl > 0 ? 'the paced mock' : 'zero-latency mock'} and load on CPU 1; sampled every ${values.interval} us`,
    `served: ${profiled.map((g) => `${g.name} ${(g.requests / (rounds * seconds)).toFixed(0)} req/s (warm-up ${g.capacity.toFixed(0)})`).join(', ')}`,
    '',
    table(headers, [
      procRow("CPU time by /proc (user + system), every thread but the profiler's", (g) => {
        const t = g.threadsMs
        return t.main + t.v8 + t.libuv + t.other
      }),
      procRow('of it, the main thread (JavaScript, system calls)', (g) => g.threadsMs.main),
      procRow("V8's helper threads (garbage collection, compilation)", (g) => g.threadsMs.v8),
      procRow(
        "libuv's pool (file system work) and any other thread",
        (g) => g.threadsMs.libuv + g.threadsMs.other,
      ),
      procRow("(the profiler's own thread, left out)", (g) => g.threadsMs.profiler),
      busyRow,
      ...components.map((c) => row(c.name, c.a, c.b)),
      row('(the rest)', busyUs(p) - shown, r ? busyUs(r) - shownRef : 0),
    ]),
    '',
    `${GC} is V8's collection of the garbage requests leave, ${PROGRAM} time V8 cannot attribute (its compilers, the runtime), native:* the C++ or system call behind one of node's functions (native:writev: sending on a socket, the kernel's delivery of the bytes over loopback included). The profile samples the main thread only, in wall time: with the core to itself and never idle, its busy time a request is the core's time a request (other threads' time included, charged to whatever the main thread was doing when they ran).`,
    '',
    `the proxy's functions by self time:`,
    '',
    table(
      ['function', 'us/req', '% of busy'],
      functions.map((f) => [f.name, us(f.a, pr), `${((100 * f.a) / busyUs(p)).toFixed(1)} %`]),
    ),
  ]
  return lines.join('\n')
}

runBench(main)
