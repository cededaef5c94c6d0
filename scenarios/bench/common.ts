import type { ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { PROXY_NODE_FLAGS } from '../../proxy/src/node-flags.ts'
import { type CpuTicks, cpuTicks, stealPercent } from '../capacity/proc.ts'
import type { Steal } from './report.ts'
import { fileBytes, type Service, type ServiceOptions, type Start, startService } from './services.ts'

// What the proxy benchmarks share: the request they send, the client key of the proxies they
// boot, how mocks and proxies are started and configured, how results are saved, and the
// processes they start and always stop.

export const BENCH_KEY = 'sk-bench-client-key-000000'

/** A typical small chat request: system prompt, one question, a short answer. */
export const CHAT_REQUEST = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Summarise the benefits of connection pooling in two sentences.' },
  ],
  max_tokens: 32,
}

/**
 * A chat request of about `kb` kilobytes (at least the small one): the small request's system
 * prompt and question after a conversation of earlier turns, as a chat application sends its
 * history and a retrieval one its documents. The turns are prose with line breaks, quotes and a
 * few non-ASCII characters (escapes and multi-byte UTF-8, as real prompts have), alternately the
 * user's and the assistant's. Deterministic: the same size gives the same bytes.
 */
export function chatRequestOfSize(kb: number): Record<string, unknown> {
  const [system, question] = CHAT_REQUEST.messages
  const history: { role: string; content: string }[] = []
  const target = kb * 1024
  let bytes = Buffer.byteLength(JSON.stringify(CHAT_REQUEST))
  for (let turn = 1; bytes < target; turn++) {
    const content = historyTurn(turn)
    history.push({ role: turn % 2 === 1 ? 'user' : 'assistant', content })
    bytes += Buffer.byteLength(JSON.stringify({ role: 'assistant', content })) + 1
  }
  return { ...CHAT_REQUEST, messages: [system, ...history, question] }
}

function historyTurn(n: number): string {
  return (
    `Turn ${n}: a pool keeps ${n % 7 === 0 ? 'no' : n % 50} sockets open to each upstream, so a request reuses one ` +
    'instead of paying for a new TCP and TLS handshake ("connection: keep-alive").\n' +
    `Under load the pool's size bounds the calls in flight — café-sized limits starve a busy proxy, ` +
    `and limits far above the provider's own cap only move the queue upstream (step ${n}).\n\n` +
    '- idle sockets are closed after the keep-alive timeout;\n- failed ones are replaced on the next call.'
  )
}

/**
 * Bodies of `request` whose last message never repeats (its content ends with `tag`, this process's
 * id and a count), so no cache can answer one: what most real traffic is to a response cache.
 * Generators sharing a cache need tags of their own (a streamed and a plain request share a key).
 */
export function uniqueBodies(request: Record<string, unknown>, tag = ''): () => string {
  const messages = request.messages as { role: string; content: string }[]
  const head = messages.slice(0, -1)
  const last = messages.at(-1) as { role: string; content: string }
  let n = 0
  return () =>
    JSON.stringify({
      ...request,
      messages: [...head, { ...last, content: `${last.content} (${tag}${process.pid}.${n++})` }],
    })
}

/** The same question answered as a stream of `tokens` token chunks (the mock's profile sets the length). */
export function streamRequest(tokens: number): Record<string, unknown> {
  return { ...CHAT_REQUEST, max_tokens: tokens, stream: true }
}

export const MOCK_READY = /mock-openai listening on (http:\/\/\S+)/
export const PROXY_READY = /"address":"(http:\/\/[^"]+)"/
/** The environment a benchmarked proxy runs in: production tuning, default logging, one client key. */
/** The proxy's entry point, started with the V8 options it ships with (proxy/src/node-flags.ts). */
export const PROXY_SCRIPT = { script: 'proxy/src/server.ts', nodeArgs: PROXY_NODE_FLAGS }
export const PROXY_ENV = { APP_ENV: 'production', PROXY_API_KEYS: BENCH_KEY }
/** The same with request logging off (warnings and errors only). */
export const QUIET_PROXY_ENV = { ...PROXY_ENV, LOG_LEVEL: 'warn' }
export const AUTH = { authorization: `Bearer ${BENCH_KEY}` }

/** Writes a proxy configuration to a temporary file and returns its path. */
export function writeProxyConfig(prefix: string, document: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), `${prefix}-`)), 'config.yaml')
  writeFileSync(file, stringify(document))
  return file
}

/** A mock profile (same schema as mock-providers/profiles/*.yaml) in a temporary file. */
export function writeMockProfile(name: string, profile: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-profile-')), `${name}.yaml`)
  writeFileSync(file, stringify({ description: `benchmark profile ${name}`, ...profile }))
  return file
}

/** A mock answering every chat completion with exactly `tokens` tokens, with no latency unless `latency` says. */
export function fixedLengthProfile(tokens: number, latency: Record<string, unknown> = {}): string {
  return writeMockProfile(`${tokens}-tokens`, {
    latency: { ttft: 0, itl: 0, ...latency },
    completion: { min_tokens: tokens, max_tokens: tokens },
  })
}

/** A proxy routing gpt-4o-mini to one OpenAI-wire mock, cache off unless `extra` says otherwise. */
export function singleMockConfig(
  mockUrl: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: 'info' },
    caching: { enabled: false },
    providers: [{ name: 'mock-openai', wire: 'openai', base_url: `${mockUrl}/v1` }],
    models: { 'gpt-4o-mini': { deployments: [{ provider: 'mock-openai' }] } },
    ...extra,
  }
}

/** mock-openai (and mock-anthropic) on free ports, with a profile name or file. */
export function startMock(
  start: Start,
  options: { name?: string; profile: string; cpu?: number | string },
): Promise<Service> {
  return start({
    name: options.name ?? 'mock',
    script: 'mock-providers/src/cli.ts',
    args: ['--profile', options.profile, '--openai-port', '0', '--anthropic-port', '0'],
    cpu: options.cpu,
    ready: MOCK_READY,
  })
}

/** A proxy in front of one mock; its log goes to a file (`logFile`), as a container's would. */
export async function startProxy(
  start: Start,
  options: {
    name: string
    mockUrl: string
    config?: Record<string, unknown>
    env?: Record<string, string>
    cpu?: number | string
    /** More options for node, after those the proxy ships with (a profiler's). */
    nodeArgs?: readonly string[]
  },
): Promise<Service & { logFile: string }> {
  const config = writeProxyConfig('bench-proxy', singleMockConfig(options.mockUrl, options.config))
  const logFile = join(config, '..', 'proxy.log')
  const service = await start({
    name: options.name,
    ...PROXY_SCRIPT,
    nodeArgs: [...PROXY_SCRIPT.nodeArgs, ...(options.nodeArgs ?? [])],
    args: ['--config', config],
    env: options.env ?? PROXY_ENV,
    cpu: options.cpu,
    ready: PROXY_READY,
    logFile,
    // A cluster forks and compiles every worker before one listens: slow on a busy machine.
    timeoutMs: 60_000,
  })
  return { ...service, logFile }
}

/** Bytes a proxy has logged so far (its log file). */
export const loggedBytes = (proxy: { logFile: string }): number => fileBytes(proxy.logFile)

/** Saves a benchmark's raw results as JSON (default reports/out/<name>-<time>.json) and says where. */
export function saveResults(name: string, data: unknown, out?: string): string {
  const file = out ?? join('reports', 'out', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(join(file, '..'), { recursive: true })
  writeFileSync(file, JSON.stringify(data, null, 2))
  console.log(`\nraw results: ${file}`)
  return file
}

/** Runs a benchmark that starts services through `start`, and stops them all whatever happens. */
export function runBench(main: (start: Start) => Promise<void>): void {
  const stops: (() => Promise<void>)[] = []
  const children: ChildProcess[] = []
  const start = (options: ServiceOptions) =>
    startService(options, (stop, child) => {
      stops.push(stop)
      children.push(child)
    })
  const stopAll = () => Promise.all(stops.map((stop) => stop()))
  // Ended without stopping them (an uncaught error, thrown from a timer or an event handler outside
  // main's promise, ends the process at once): no server is left running, holding a port and a CPU.
  process.once('exit', () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  // Stopped from outside (Ctrl-C, timeout, CI): stop the servers started, then exit as signalled.
  const onSignal = (signal: NodeJS.Signals) => {
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  main(start)
    .catch((err) => {
      console.error(err)
      process.exitCode = 1
    })
    .finally(() => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      return stopAll()
    })
}

/**
 * Reads how much of `cpus` the hypervisor took while a benchmark measured: `start` as measuring
 * begins (the open model's `onMeasureStart`), `stop` when it ends. `read` is /proc/stat's by default.
 */
export function stealWatch(
  cpus: readonly number[],
  read: () => Map<number, CpuTicks> | null = cpuTicks,
): { start(): void; stop(): Steal } {
  let before: Map<number, CpuTicks> | null = null
  return {
    start: () => {
      before = read()
    },
    stop: () => {
      const after = read()
      return Object.fromEntries(cpus.map((cpu) => [cpu, stealPercent(before, after, cpu)]))
    },
  }
}

/** Options several benchmarks take, declared once (scenarios/run/command-line.ts). */
export const CONFIG_FLAG = {
  type: 'json',
  value: 'json',
  help: "the proxy's configuration over its defaults",
} as const
export const PROMPT_KB_FLAG = {
  type: 'number',
  default: 0,
  min: 0,
  value: 'kb',
  help: 'send a request of about this many KB (0: the small one)',
} as const
/** --out: where saveResults writes the raw results of the benchmark `name`. */
export const outFlag = (name: string) =>
  ({
    type: 'string',
    value: 'file',
    help: `file for the raw results (default reports/out/${name}-<time>.json)`,
  }) as const
