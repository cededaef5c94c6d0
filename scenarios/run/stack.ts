// Boots what a tier runs against: the mock providers and the proxy, each in its own process on free
// ports, the proxy configured from proxy/config.yaml with its providers pointed at the mocks. The
// caller's ProcessGroup owns the processes and stops them.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse as parseYaml, stringify } from 'yaml'
import { isProfileName } from '../../mock-providers/src/profile-load.ts'
import { ENV_BINDINGS } from '../../proxy/src/config/env.ts'
import { PROXY_NODE_FLAGS, withCompileCache } from '../../proxy/src/node-flags.ts'
import type { ManagedProcess, ProcessGroup } from './processes.ts'

export const REPO_ROOT = new URL('../..', import.meta.url).pathname
const MOCK_CLI = join(REPO_ROOT, 'mock-providers/src/cli.ts')
const PROXY_SERVER = join(REPO_ROOT, 'proxy/src/server.ts')
export const PROXY_CONFIG = join(REPO_ROOT, 'proxy/config.yaml')

export type StackOptions = {
  readonly group: ProcessGroup
  /** Where mock.log and proxy.log go. */
  readonly runDir: string
  readonly mockProfile: string
  readonly seed: number
  readonly proxyConfig?: string
  /** Node options for the proxy after its own (an experiment: how a flag changes its speed). */
  readonly proxyNodeFlags?: readonly string[]
  readonly readyTimeoutMs?: number
}

export type Stack = {
  readonly targetUrl: string
  readonly apiKey: string
  /** The proxy's settings it took from the caller's environment (proxyEnvOf), secrets as '(set)'. */
  readonly proxyEnv: Readonly<Record<string, string>>
  readonly mocks: { readonly openai: string; readonly anthropic: string }
  readonly processes: readonly ManagedProcess[]
  /** Removes the generated configuration (it holds the run's API key). */
  cleanup(): void
}

const MOCK_LINE = /^(mock-openai|mock-anthropic) listening on (http:\/\/\S+)/

export async function bootStack(options: StackOptions): Promise<Stack> {
  const timeoutMs = options.readyTimeoutMs ?? 20_000
  const { process: mock, urls: mocks } = await startMockProviders(options.group, {
    logFile: join(options.runDir, 'mock.log'),
    profile: options.mockProfile,
    seed: options.seed,
    timeoutMs,
  })
  const apiKey = `load-${randomBytes(12).toString('hex')}`
  const configDir = mkdtempSync(join(tmpdir(), 'load-proxy-'))
  const cleanup = () => rmSync(configDir, { recursive: true, force: true })
  try {
    const configFile = join(configDir, 'config.yaml')
    writeFileSync(
      configFile,
      proxyConfigFor(readFileSync(options.proxyConfig ?? PROXY_CONFIG, 'utf8'), mocks, apiKey),
    )
    const { process: proxy, url: targetUrl } = await startProxyProcess(options.group, {
      name: 'proxy',
      configFile,
      logFile: join(options.runDir, 'proxy.log'),
      env: { ...process.env, APP_ENV: 'production' },
      timeoutMs,
      nodeFlags: options.proxyNodeFlags,
    })
    return { targetUrl, apiKey, mocks, processes: [mock, proxy], cleanup, proxyEnv: proxyEnvOf(process.env) }
  } catch (error) {
    cleanup()
    throw error
  }
}

/** The variables whose values could hold a secret: a report names them, never shows them. */
const SECRET_ENV = new Set(['REDIS_URL', 'PROXY_API_KEYS', 'PROXY_ADMIN_KEYS'])

/**
 * The proxy's settings a run's proxy takes from the caller's environment (the performance guide's
 * variables, proxy/src/config/env.ts, over its configuration file), but APP_ENV, which the run sets:
 * REDIS_URL in the shell gives the proxy a shared cache tier, LOG_LEVEL another logging cost. They
 * change what a run measures, so the run records them (secrets as '(set)') and the regression gate
 * compares only runs that had the same.
 */
export function proxyEnvOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const found: Record<string, string> = {}
  for (const { name } of ENV_BINDINGS) {
    const value = env[name]
    if (name === 'APP_ENV' || value === undefined || value === '') continue
    found[name] = SECRET_ENV.has(name) ? '(set)' : value
  }
  return found
}

/** Starts both mock providers in one process on free ports; resolves once both listen. */
export async function startMockProviders(
  group: ProcessGroup,
  options: { logFile: string; profile: string; seed: number; timeoutMs: number },
): Promise<{ process: ManagedProcess; urls: { openai: string; anthropic: string } }> {
  const mock = group.start(
    'mock providers',
    process.execPath,
    [
      MOCK_CLI,
      '--openai-port',
      '0',
      '--anthropic-port',
      '0',
      '--profile',
      // A profile file is named relative to where the run was started; the mocks run in the repository.
      isProfileName(options.profile) ? options.profile : resolve(options.profile),
      '--seed',
      String(options.seed),
    ],
    { logFile: options.logFile, cwd: REPO_ROOT },
  )
  const seen: Record<string, string> = {}
  const urls = await mock.waitFor((line) => {
    const match = MOCK_LINE.exec(line)
    if (match) seen[match[1]] = match[2]
    return seen['mock-openai'] && seen['mock-anthropic']
      ? { openai: seen['mock-openai'], anthropic: seen['mock-anthropic'] }
      : undefined
  }, options.timeoutMs)
  return { process: mock, urls }
}

/** Starts proxy/src/server.ts (or `server`) on a configuration file; resolves with its address once it listens. */
export async function startProxyProcess(
  group: ProcessGroup,
  options: {
    name: string
    configFile: string
    logFile: string
    env: NodeJS.ProcessEnv
    timeoutMs: number
    server?: string
    /** Node options after PROXY_NODE_FLAGS (node's last value of an option wins). */
    nodeFlags?: readonly string[]
  },
): Promise<{ process: ManagedProcess; url: string }> {
  const server = options.server ?? PROXY_SERVER
  const proxy = group.start(
    options.name,
    process.execPath,
    [...PROXY_NODE_FLAGS, ...(options.nodeFlags ?? []), server, '--config', options.configFile],
    {
      logFile: options.logFile,
      cwd: REPO_ROOT,
      env: withCompileCache(options.env, REPO_ROOT),
    },
  )
  return { process: proxy, url: await proxy.waitFor(listeningAddress, options.timeoutMs) }
}

/** The proxy's configuration for a run: providers on the mocks (by wire), port 0, one client key. */
export function proxyConfigFor(
  yamlText: string,
  mocks: { openai: string; anthropic: string },
  apiKey: string,
): string {
  const config = (parseYaml(yamlText) ?? {}) as Record<string, unknown>
  const server = (config.server ?? {}) as Record<string, unknown>
  config.server = { ...server, host: '127.0.0.1', port: 0 }
  const auth = (config.auth ?? {}) as Record<string, unknown>
  config.auth = { ...auth, api_keys: [apiKey] }
  const providers = (config.providers ?? []) as Record<string, unknown>[]
  config.providers = providers.map((p) => {
    if (p.wire === 'openai') return { ...p, base_url: `${mocks.openai}/v1` }
    if (p.wire === 'anthropic') return { ...p, base_url: mocks.anthropic }
    return p
  })
  return stringify(config)
}

/** The address in the proxy's `llm proxy listening` log line (pino JSON). */
export function listeningAddress(line: string): string | undefined {
  if (!line.includes('llm proxy listening')) return undefined
  try {
    const entry = JSON.parse(line) as { msg?: string; address?: string }
    return entry.msg === 'llm proxy listening' && typeof entry.address === 'string'
      ? entry.address
      : undefined
  } catch {
    return undefined
  }
}
