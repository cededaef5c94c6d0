/**
 * npm run bench:mock -- [--seconds 10] [--connections 50] [--rounds 5] [--streams 1000] [--tokens 50]
 *                       [--itl 20] [--only throughput|streams] [--vary] [--strict]
 *
 * 1. Throughput: the mock alone (zero profile, non-streaming chat completions) against a plain
 *    node:http server answering the mock's own response bytes, both pinned to CPU 0, autocannon on
 *    CPU 1; runs alternate mock/plain, plain/mock, ...; medians compared. Goal: mock >= 80 % of plain.
 *    Also printed, as cross-checks on a shared machine: the ratio within each round, server CPU time
 *    per request, and two runs loading both servers at once.
 * 2. Streams: N concurrent streams at a fixed inter-token latency; every gap between token chunks
 *    measured at the client (CPU 1). Goal: median gap within 2 ms of the configured ITL.
 * --vary gives every request a distinct body (the mock's caches never hit: its worst case).
 * --strict exits 1 when a goal is missed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { readCommandLine } from '../run/command-line.ts'

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

const { values } = readCommandLine({
  usage: 'npm run bench:mock -- [options]',
  about:
    'The mock providers: throughput of the zero profile against a plain node:http server answering the\n' +
    'same bytes (goal: 80 % of it or more), then the gaps between tokens of concurrent streams (goal:\n' +
    'median within 2 ms of --itl).',
  flags: {
    seconds: { type: 'number', default: 10, min: 1, value: 's', help: 'length of each throughput round' },
    connections: {
      type: 'integer',
      default: 50,
      min: 1,
      value: 'n',
      help: 'connections of the throughput load',
    },
    rounds: { type: 'integer', default: 5, min: 1, value: 'n', help: 'throughput rounds' },
    streams: { type: 'integer', default: 1000, min: 1, value: 'n', help: 'concurrent streams' },
    tokens: { type: 'integer', default: 50, min: 1, value: 'n', help: 'tokens of each stream' },
    itl: { type: 'number', default: 20, min: 0, value: 'ms', help: 'time between tokens' },
    only: { type: 'string', choices: ['throughput', 'streams'], help: 'run one part only' },
    vary: { type: 'boolean', help: "a distinct body for every request (the mock's caches never hit)" },
    strict: { type: 'boolean', help: 'exit 1 when a goal is missed' },
  },
})

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true'])
    return true
  } catch {
    return false
  }
})()

/** node <script> args, pinned to one CPU when taskset exists. */
function node(cpu: number, script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const command = hasTaskset ? 'taskset' : process.execPath
  const argv = hasTaskset ? ['-c', String(cpu), process.execPath, script, ...args] : [script, ...args]
  return spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
}

/** Lines of a child's stdout, awaited by pattern; one reader per child. */
function lineReader(child: ChildProcess) {
  const waiters: Array<{ match: RegExp; resolve: (line: string) => void; reject: (error: Error) => void }> =
    []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const at = waiters.findIndex((w) => w.match.test(line))
    if (at !== -1) waiters.splice(at, 1)[0].resolve(line)
  })
  child.once('exit', (code) => {
    for (const w of waiters.splice(0))
      w.reject(new Error(`child exited with ${code} before printing ${w.match}`))
  })
  return (match: RegExp) => new Promise<string>((resolve, reject) => waiters.push({ match, resolve, reject }))
}

async function server(kind: 'mock' | 'plain', arg: string, env: Record<string, string> = {}) {
  const child = node(0, here('./mock-bench-server.ts'), [kind, arg], env)
  const next = lineReader(child)
  const port = Number((await next(/^READY \d+$/)).split(' ')[1])
  return {
    url: `http://127.0.0.1:${port}`,
    /** CPU time (µs) the server process has used so far. */
    cpu: async () => {
      const line = next(/^CPU \d+$/)
      child.kill('SIGUSR2')
      return Number((await line).split(' ')[1])
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

async function json<T>(cpu: number, script: string, args: string[]): Promise<T> {
  const child = node(cpu, script, args)
  return JSON.parse(await lineReader(child)(/^\{/)) as T
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (n: number, digits = 0) => n.toFixed(digits).padStart(9)

interface LoadResult {
  rps: number
  total: number
  non2xx: number
  errors: number
  latencyP50: number
  latencyP99: number
  bytesPerResponse: number
}

const CHAT = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Summarise why an LLM proxy needs load tests, in two sentences.' }],
})

async function throughput(): Promise<boolean> {
  const seconds = String(values.seconds)
  const connections = String(values.connections)
  const rounds = values.rounds
  const mock = await server('mock', 'zero')
  const sample = await fetch(`${mock.url}/v1/chat/completions`, { method: 'POST', body: CHAT })
  const body = await sample.text()
  const plain = await server('plain', '-', { MOCK_BENCH_BODY: body })
  const load = here('./mock-bench-load.ts')
  console.log(
    `throughput: zero profile, non-streaming chat, ${connections} connections, ${seconds} s a run, ` +
      `servers on CPU 0, autocannon on CPU 1${hasTaskset ? '' : ' (taskset missing: not pinned)'}; response ${body.length} bytes; ` +
      (values.vary ? 'a distinct body per request' : 'the same body every request'),
  )
  const mode = values.vary ? 'vary' : 'same'
  for (const target of [mock, plain])
    await json<LoadResult>(1, load, [`${target.url}/v1/chat/completions`, connections, '2', CHAT, mode])
  const results: Record<'mock' | 'plain', number[]> = { mock: [], plain: [] }
  const cpuPerRequest: Record<'mock' | 'plain', number[]> = { mock: [], plain: [] }
  const pairs: number[] = []
  console.log('  run  server        req/s   p50 ms   p99 ms   non-2xx   CPU µs/req')
  for (let round = 1; round <= rounds; round++) {
    // A B, B A, A B...: neither server always runs first (warm-up and drifting neighbours cancel out).
    const order = [
      ['mock', mock],
      ['plain', plain],
    ] as const
    for (const [name, target] of round % 2 === 1 ? order : [...order].reverse()) {
      const cpuBefore = await target.cpu()
      const r = await json<LoadResult>(1, load, [
        `${target.url}/v1/chat/completions`,
        connections,
        seconds,
        CHAT,
        mode,
      ])
      const cpu = ((await target.cpu()) - cpuBefore) / r.total
      results[name].push(r.rps)
      cpuPerRequest[name].push(cpu)
      console.log(
        `  ${String(round).padStart(3)}  ${name.padEnd(6)} ${fmt(r.rps)} ${fmt(r.latencyP50, 1)} ${fmt(r.latencyP99, 1)} ${fmt(r.non2xx + r.errors)} ${fmt(cpu, 1)}    `,
      )
    }
    pairs.push(results.mock[round - 1] / results.plain[round - 1])
  }
  // Both at once, sharing CPU 0 (the scheduler splits it evenly): a reading that noisy neighbours
  // affect equally on both sides. The req/s ratio is then the ratio of per-request costs.
  const together: number[] = []
  for (let round = 1; round <= 2; round++) {
    const [m, p] = await Promise.all(
      [mock, plain].map((target) =>
        json<LoadResult>(1, load, [`${target.url}/v1/chat/completions`, connections, seconds, CHAT, mode]),
      ),
    )
    together.push(m.rps / p.rps)
    console.log(
      `  both at once, round ${round}: mock ${m.rps.toFixed(0)} req/s, plain ${p.rps.toFixed(0)} req/s`,
    )
  }
  await Promise.all([mock.stop(), plain.stop()])
  const ratio = median(results.mock) / median(results.plain)
  const ok = ratio >= 0.8
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`
  console.log(
    `  median: mock ${median(results.mock).toFixed(0)} req/s, plain ${median(results.plain).toFixed(0)} req/s, ` +
      `ratio ${pct(ratio)} (goal >= 80 %): ${ok ? 'MET' : 'MISSED'}`,
  )
  console.log(
    `  same-round ratios: ${pairs.map(pct).join(', ')} (median ${pct(median(pairs))}); ` +
      `server CPU per request: mock ${median(cpuPerRequest.mock).toFixed(1)} µs, plain ${median(cpuPerRequest.plain).toFixed(1)} µs ` +
      `(plain/mock ${pct(median(cpuPerRequest.plain) / median(cpuPerRequest.mock))}); ` +
      `both at once: ${together.map(pct).join(', ')}`,
  )
  return ok
}

interface StreamResult {
  completed: number
  tokens: number
  gaps: number
  median: number
  p99: number
  max: number
  mean: number
  ttftMedian: number
  elapsedMs: number
  clientCpuMs: number
}

async function streams(): Promise<boolean> {
  const { itl, tokens } = values
  const count = String(values.streams)
  const dir = mkdtempSync(join(tmpdir(), 'mock-bench-'))
  const profile = join(dir, 'streams.json')
  writeFileSync(
    profile,
    JSON.stringify({
      name: `itl-${itl}ms`,
      latency: { ttft: 0, itl },
      completion: { min_tokens: tokens, max_tokens: tokens },
    }),
  )
  const mock = await server('mock', profile)
  const cpuBefore = await mock.cpu()
  const r = await json<StreamResult>(1, here('./mock-bench-streams.ts'), [mock.url, count, String(tokens)])
  const serverCpuMs = ((await mock.cpu()) - cpuBefore) / 1000
  await mock.stop()
  const ok = Math.abs(r.median - itl) <= 2 && r.completed === Number(count)
  console.log(
    `streams: ${count} concurrent, ${tokens} tokens each, ITL fixed ${itl} ms, mock on CPU 0, client on CPU 1`,
  )
  console.log(
    `  ${r.completed} streams completed, ${r.tokens} tokens, ${r.gaps} gaps in ${(r.elapsedMs / 1000).toFixed(1)} s: ` +
      `median ${r.median.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms, mean ${r.mean.toFixed(2)} ms; ` +
      `TTFT median ${r.ttftMedian.toFixed(1)} ms`,
  )
  const busy = (ms: number) => `${((ms / r.elapsedMs) * 100).toFixed(0)} %`
  console.log(`  CPU busy over the run: mock ${busy(serverCpuMs)}, client ${busy(r.clientCpuMs)}`)
  console.log(`  goal: median within 2 ms of ${itl} ms: ${ok ? 'MET' : 'MISSED'}`)
  return ok
}

let ok = true
if (values.only !== 'streams') ok = (await throughput()) && ok
if (values.only !== 'throughput') ok = (await streams()) && ok
process.exit(values.strict && !ok ? 1 : 0)
