// `npm run bench:generator`: how many requests per second one core of the harness can generate, for
// each engine, against zero-latency servers on another core: a bare node:http server (`plain`) and
// mock-openai with the `zero` profile (`mock-zero`). Closed loop, no think time, chat completions, then
// streamed chat completions (SSE: every chunk parsed and timed, which costs the generator more). Each
// run's rate is also expressed per fully busy core (req/s * 100 / generator CPU %), which stays
// meaningful when the server, not the generator, held a run back. The best of each engine is its
// ceiling, plain and streaming, written to scenarios/generator-capacity.json; a tier's report then says
// when it came near the ceiling of its own mix (the generator, not the proxy, may be the limit).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runEngine } from './engines/engine-process.ts'
import { ENGINES, type EngineName, type EnginePlan } from './engines/plan.ts'
import { readCommandLine } from './run/command-line.ts'
import { collectEnvironment } from './run/environment.ts'
import { type BenchRun, CAPACITY_FILE, writeCapacity } from './run/generator-capacity.ts'
import { ProcessGroup } from './run/processes.ts'
import { REPO_ROOT } from './run/stack.ts'

// Answers chat completions at once: JSON, or (for "stream": true) 32 content chunks, usage and [DONE].
const PLAIN_SERVER = `
const http = require('node:http')
const body = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })
const chunk = (delta) => 'data: ' + JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] }) + '\\n\\n'
const sse = chunk({ role: 'assistant', content: '' }) + Array.from({ length: 32 }, (_, i) => chunk({ content: 'tok' + i + ' ' })).join('') + 'data: ' + JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1, completion_tokens: 32, total_tokens: 33 } }) + '\\n\\ndata: [DONE]\\n\\n'
const server = http.createServer((req, res) => {
  let text = ''
  req.setEncoding('utf8')
  req.on('data', (part) => { text += part })
  req.on('end', () => {
    if (text.includes('"stream":true')) { res.writeHead(200, { 'content-type': 'text/event-stream', 'content-length': Buffer.byteLength(sse) }); res.end(sse); return }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body)
  })
})
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => console.log('plain listening on http://127.0.0.1:' + server.address().port))
`

/** Plain chat completions, then streamed ones. */
const BENCH_SCENARIOS = ['chat', 'chat-stream'] as const
type BenchScenario = (typeof BENCH_SCENARIOS)[number]

function canPin(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0
}

/** Pins a running process to one core (best effort). */
function pin(pid: number, core: number): void {
  try {
    execFileSync('taskset', ['-pc', String(core), String(pid)], { stdio: 'ignore' })
  } catch {
    // not pinned: the note in the capacity file says so
  }
}

async function main(): Promise<number> {
  const { values } = readCommandLine({
    usage: 'npm run bench:generator -- [options]',
    about:
      'How many requests a second one core of the harness generates, for each engine, against zero-latency\n' +
      'servers on another core; the ceilings are written to scenarios/generator-capacity.json.',
    flags: {
      duration: { type: 'number', default: 10, min: 1, value: 's', help: 'length of each run' },
      connections: { type: 'integer', default: 32, min: 1, value: 'n', help: 'connections of the load' },
      'dry-run': {
        type: 'boolean',
        help: 'measure and print; leave scenarios/generator-capacity.json as it is',
      },
    },
  })
  const durationS = values.duration
  const { connections } = values
  const pinned = canPin()
  const serverCore = pinned ? ['taskset', '-c', '1'] : []
  const group = new ProcessGroup()
  const logs = mkdtempSync(join(tmpdir(), 'bench-generator-'))
  const runs: BenchRun[] = []
  try {
    const start = (name: string, args: string[]) =>
      group.start(
        name,
        serverCore[0] ?? process.execPath,
        [...serverCore.slice(1), ...(serverCore.length ? [process.execPath] : []), ...args],
        {
          logFile: join(logs, `${name}.log`),
          cwd: REPO_ROOT,
        },
      )
    const plain = start('plain', ['-e', PLAIN_SERVER])
    const mock = start('mock-zero', [
      join(REPO_ROOT, 'mock-providers/src/cli.ts'),
      '--openai-port',
      '0',
      '--anthropic-port',
      '0',
      '--profile',
      'zero',
    ])
    const urlOf = (p: typeof plain, pattern: RegExp) => p.waitFor((line) => pattern.exec(line)?.[1], 15_000)
    const targets = {
      plain: await urlOf(plain, /^plain listening on (\S+)/),
      'mock-zero': await urlOf(mock, /^mock-openai listening on (\S+)/),
    }
    for (const scenario of BENCH_SCENARIOS)
      for (const [target, url] of Object.entries(targets)) {
        for (const engine of ENGINES) {
          const plan: EnginePlan = {
            engine,
            targetUrl: url,
            apiKey: 'bench',
            loadModel: 'closed',
            arrival: 'constant',
            users: connections,
            rps: 0,
            durationS,
            rampUpS: 0,
            thinkTimeS: undefined,
            mix: [{ name: scenario, weight: 1 }],
            corpus: { size: 1000, zipfExponent: 1, models: ['gpt-4o-mini'] },
            seed: 1,
            requestTimeoutS: 10,
            drainS: 5,
            bucketS: 1,
            latencyPercentile: 95,
            samplesPerBucket: 1,
          }
          process.stderr.write(
            `${engine} ${scenario} -> ${target} (${connections} connections, ${durationS} s)${pinned ? ', generator on core 0, server on core 1' : ''}\n`,
          )
          const result = await runEngine(plan, { onSpawn: (pid) => pinned && pin(pid, 0) })
          // The first second warms the JIT and opens the connections: measure from the second one.
          const steady = result.ticks.slice(1, -1)
          const rps = steady.length
            ? steady.reduce((a, t) => a + t.rps, 0) / steady.length
            : result.requests / result.durationS
          const cpu = steady.length
            ? steady.reduce((a, t) => a + t.cpu_percent, 0) / steady.length
            : result.cpu.mean
          runs.push({
            engine,
            target,
            scenario,
            connections,
            rps: Math.round(rps),
            cpu_percent: Math.round(cpu * 10) / 10,
            rps_per_core: cpu > 0 ? Math.round((rps * 100) / cpu) : 0,
            p50_ms: result.latency_ms?.p50 ?? null,
            errors: result.errors,
          })
        }
      }
  } finally {
    await group.stopAll()
    rmSync(logs, { recursive: true, force: true })
  }
  // A run whose server failed (errors) measured how fast errors come back, not the generator.
  const best = (engine: EngineName, scenario: BenchScenario) => {
    const own = runs.filter((r) => r.engine === engine && r.scenario === scenario)
    const clean = own.filter((r) => r.errors === 0)
    return (clean.length ? clean : own).sort((a, b) => b.rps_per_core - a.rps_per_core)[0]
  }
  const env = collectEnvironment(REPO_ROOT)
  const capacity = {
    measured_at: new Date().toISOString(),
    cpu_model: env.cpu_model,
    cpu_count: env.cpu_count,
    node_version: env.node_version,
    pinned,
    scenario:
      'chat (POST /v1/chat/completions), non-streaming and streaming (SSE), closed loop without think time',
    duration_s: durationS,
    engines: { native: best('native', 'chat'), autocannon: best('autocannon', 'chat') },
    streaming: { native: best('native', 'chat-stream'), autocannon: best('autocannon', 'chat-stream') },
    runs,
  }
  const header = ['engine', 'scenario', 'target', 'req/s', 'gen CPU %', 'req/s/core', 'p50 ms', 'errors']
  const rows = runs.map((r) => [
    r.engine,
    r.scenario ?? 'chat',
    r.target,
    String(r.rps),
    r.cpu_percent.toFixed(1),
    String(r.rps_per_core),
    (r.p50_ms ?? 0).toFixed(2),
    String(r.errors),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  process.stdout.write(
    `\n${[header, ...rows]
      .map((row) =>
        row
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n')}\n`,
  )
  process.stdout.write(
    `\nceiling on one core: native ${capacity.engines.native.rps_per_core} req/s, autocannon ${capacity.engines.autocannon.rps_per_core} req/s; streams (SSE): native ${capacity.streaming.native.rps_per_core}/s, autocannon ${capacity.streaming.autocannon.rps_per_core}/s\n`,
  )
  const held = runs.filter((r) => r.cpu_percent < 80)
  if (held.length > 0) {
    process.stdout.write(
      `note: ${held.length} run(s) did not saturate the generator (CPU < 80 %): the server or a busy machine held them back, and their req/s/core is extrapolated from the CPU cost per request.\n`,
    )
  }
  if (!values['dry-run']) {
    writeCapacity(capacity)
    process.stdout.write(`written to ${CAPACITY_FILE}\n`)
  }
  return 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? error}\n`)
    process.exit(1)
  },
)
