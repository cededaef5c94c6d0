// What a chaos run breaks: the mock providers, toxiproxy between the proxy and each mock, a Redis for
// the shared cache tier when the scenario wants one, and one or more proxy instances (behind the
// runner's load balancer when more than one), each in its own process on free loopback ports.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml, stringify } from 'yaml'
import { ENV_BINDINGS } from '../../proxy/src/config/env.ts'
import { mergeDeep } from '../../proxy/src/config/load.ts'
import { waitForHealth } from '../run/probe.ts'
import type { ManagedProcess, ProcessGroup } from '../run/processes.ts'
import {
  PROXY_CONFIG,
  proxyConfigFor,
  REPO_ROOT,
  startMockProviders,
  startProxyProcess,
} from '../run/stack.ts'
import { Balancer } from './balancer.ts'
import { RedisServer } from './redis.ts'
import { type ChaosScenario, ChaosScenarioError } from './scenario.ts'
import type { Provider } from './schema.ts'
import { Toxiproxy } from './toxiproxy.ts'

/**
 * Laid under every scenario's own `proxy.config`, and shown in its report. Each request must reach a
 * provider (a cache hit would hide the fault; redis-down turns the cache on), and the breaker judges
 * the last 10 s and retries after 3 s, so a fault phase of 20 s can see it open and close.
 */
export const CHAOS_PROXY_DEFAULTS = {
  caching: { enabled: false },
  circuit_breaker: { recovery_timeout: 3 },
  performance: { circuit_breaker: { failure_rate_window: 10 } },
} as const

export type ProxyInstance = {
  readonly slot: number
  readonly name: string
  readonly process: ManagedProcess
  readonly url: string
}

export type ChaosStack = {
  readonly targetUrl: string
  readonly apiKey: string
  /** Each mock's own URL (its control API), not the toxiproxy link. */
  readonly mocks: Readonly<Record<Provider, string>>
  readonly mockProcess: ManagedProcess
  readonly toxiproxy: Toxiproxy | null
  readonly redis: RedisServer | null
  readonly balancer: Balancer | null
  /** The live instance of each slot. */
  readonly instances: ProxyInstance[]
  /** The proxy configuration the run used, as overrides of proxy/config.yaml (no secrets). */
  readonly proxyOverrides: Record<string, unknown>
  readonly shutdownTimeoutS: number
  /** Starts a replacement of a slot's instance and puts it in rotation; returns it. */
  replace(slot: number): Promise<ProxyInstance>
  close(): Promise<void>
}

export type StackOptions = {
  readonly group: ProcessGroup
  readonly runDir: string
  readonly scenario: ChaosScenario
  readonly seed: number
  readonly timeoutMs?: number
  /** Another checkout's proxy/ directory to run (its src/server.ts and config.yaml); default this one. */
  readonly proxyDir?: string
}

export async function bootChaosStack(options: StackOptions): Promise<ChaosStack> {
  const { group, runDir, scenario } = options
  const timeoutMs = options.timeoutMs ?? 30_000
  const profile = mockProfileArgument(scenario, runDir)
  const mock = await startMockProviders(group, {
    logFile: join(runDir, 'mock.log'),
    profile,
    seed: options.seed,
    timeoutMs,
  })
  const mocks = { 'mock-openai': mock.urls.openai, 'mock-anthropic': mock.urls.anthropic }
  let toxiproxy: Toxiproxy | null = null
  let links = mock.urls
  if (scenario.toxiproxy) {
    toxiproxy = await Toxiproxy.start(group, runDir)
    links = {
      openai: await toxiproxy.link('mock-openai', new URL(mock.urls.openai).host),
      anthropic: await toxiproxy.link('mock-anthropic', new URL(mock.urls.anthropic).host),
    }
  }
  const redis = scenario.redis ? await RedisServer.start(group, runDir) : null
  const apiKey = `chaos-${randomBytes(12).toString('hex')}`
  const proxyDir = options.proxyDir ?? join(REPO_ROOT, 'proxy')
  const baseYaml = readFileSync(join(proxyDir, 'config.yaml'), 'utf8')
  const { config, overrides } = chaosProxyConfig(scenario, links, apiKey, redis?.url ?? null, baseYaml)
  // The generated configuration holds the run's client key: outside the run directory, removed at close.
  const configDir = mkdtempSync(join(tmpdir(), 'chaos-proxy-'))
  const configFile = join(configDir, 'config.yaml')
  writeFileSync(configFile, stringify(config), { mode: 0o600 })
  const env = proxyEnvironment()
  const generation = new Map<number, number>()
  const balancer = scenario.proxy.instances > 1 ? new Balancer() : null
  const startInstance = async (slot: number): Promise<ProxyInstance> => {
    const gen = (generation.get(slot) ?? 0) + 1
    generation.set(slot, gen)
    const name = `proxy-${slot}${gen > 1 ? `.${gen}` : ''}`
    const started = await startProxyProcess(group, {
      name,
      configFile,
      logFile: join(runDir, `${name}.log`),
      env,
      timeoutMs,
      server: join(proxyDir, 'src/server.ts'),
    })
    await waitForHealth(started.url, timeoutMs)
    balancer?.add(name, started.url)
    return { slot, name, process: started.process, url: started.url }
  }
  const instances: ProxyInstance[] = []
  for (let slot = 0; slot < scenario.proxy.instances; slot++) instances.push(await startInstance(slot))
  const targetUrl = balancer ? await balancer.start() : instances[0].url
  return {
    targetUrl,
    apiKey,
    mocks,
    mockProcess: mock.process,
    toxiproxy,
    redis,
    balancer,
    instances,
    proxyOverrides: overrides,
    shutdownTimeoutS: Number((config.server as { shutdown_timeout?: number })?.shutdown_timeout ?? 30),
    async replace(slot) {
      const fresh = await startInstance(slot)
      instances[slot] = fresh
      return fresh
    },
    async close() {
      await balancer?.close()
      redis?.cleanup()
      rmSync(configDir, { recursive: true, force: true })
    },
  }
}

/**
 * proxy/config.yaml with its providers on the toxiproxy links (or the mocks), the chaos defaults, the
 * scenario's own settings, its worker count and Redis. Throws when the load names a model the
 * configuration does not route.
 */
export function chaosProxyConfig(
  scenario: ChaosScenario,
  links: { openai: string; anthropic: string },
  apiKey: string,
  redisUrl: string | null,
  baseYaml = readFileSync(PROXY_CONFIG, 'utf8'),
): { config: Record<string, unknown>; overrides: Record<string, unknown> } {
  let overrides = mergeDeep(
    structuredClone(CHAOS_PROXY_DEFAULTS) as Record<string, unknown>,
    structuredClone(scenario.proxy.config) as Record<string, unknown>,
  )
  overrides = mergeDeep(overrides, { server: { workers: scenario.proxy.workers } })
  if (redisUrl) overrides = mergeDeep(overrides, { caching: { enabled: true, redis: { url: redisUrl } } })
  const base = parseYaml(proxyConfigFor(baseYaml, links, apiKey)) as Record<string, unknown>
  const config = mergeDeep(base, overrides)
  const routed = new Set<string>()
  for (const [name, route] of Object.entries(
    (config.models ?? {}) as Record<string, { aliases?: string[] }>,
  )) {
    routed.add(name)
    for (const alias of route.aliases ?? []) routed.add(alias)
  }
  const models = Array.isArray(scenario.load.model) ? scenario.load.model : [scenario.load.model]
  const unrouted = models.filter((m) => !routed.has(m))
  if (unrouted.length > 0)
    throw new ChaosScenarioError(scenario.name, [
      {
        path: 'load.model',
        message: `not routed by the proxy configuration: ${unrouted.join(', ')} (routed: ${[...routed].join(', ')})`,
      },
    ])
  return { config, overrides }
}

/** The runner's environment without the proxy's own variables (a REDIS_URL meant for tests, ...). */
function proxyEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const binding of ENV_BINDINGS) delete env[binding.name]
  env.APP_ENV = 'production'
  return env
}

/** A profile name as is; an inline profile written into the run directory. */
function mockProfileArgument(scenario: ChaosScenario, runDir: string): string {
  if (typeof scenario.mocks.profile === 'string') return scenario.mocks.profile
  const file = join(runDir, 'mock-profile.json')
  writeFileSync(file, JSON.stringify({ name: `${scenario.name}-base`, ...scenario.mocks.profile }, null, 2))
  return file
}
