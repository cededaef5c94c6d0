import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
import { resolveChannelSecrets } from '../observability/alert-config.ts'
import { applyEnv, type Env } from './env.ts'
import { ConfigSchema, type RawConfig } from './schema.ts'

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

type Normalized = Omit<RawConfig, 'http_client' | 'performance'> & {
  http_client: RawConfig['http_client'] & { retry_attempts: number; retry_backoff_factor: number }
  performance: RawConfig['performance'] & { cache_ttl_multiplier: number }
}

/** The effective configuration: validated once at start-up, frozen, passed down. */
export type Config = DeepReadonly<Normalized>

/** Start-up tuning per APP_ENV (the guide's environment-specific section); a file's block wins. */
const ENVIRONMENT_DEFAULTS: Record<string, Record<string, unknown>> = {
  development: {
    performance: {
      monitoring_enabled: true,
      profiling_enabled: true,
      debug_logging: true,
      cache_ttl_multiplier: 0.1,
    },
  },
  staging: {
    performance: {
      monitoring_enabled: true,
      profiling_enabled: false,
      debug_logging: false,
      cache_ttl_multiplier: 0.5,
    },
  },
  production: {
    performance: {
      monitoring_enabled: true,
      profiling_enabled: false,
      debug_logging: false,
      cache_ttl_multiplier: 1.0,
    },
  },
}

export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(problems: readonly string[], source?: string) {
    const where = source ? ` in ${source}` : ''
    super(
      `Invalid configuration${where} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    )
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export interface LoadOptions {
  /** Path of a YAML file; absent means defaults only. */
  file?: string
  /** An already parsed document, instead of a file (tests). */
  document?: unknown
  /** The environment; pass `process.env` from the entry point only. */
  env?: Env
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? {}
  const document = options.document ?? (options.file ? readYaml(options.file) : {})
  if (document !== null && (typeof document !== 'object' || Array.isArray(document))) {
    throw new ConfigError(['the document must be a mapping of sections'], options.file)
  }
  const raw = structuredClone((document ?? {}) as Record<string, unknown>)

  const problems = applyEnv(raw, env)
  const environment = String((raw.app as Record<string, unknown> | undefined)?.environment ?? 'development')
  const fileOverlay = (raw.environments as Record<string, unknown> | undefined)?.[environment]
  const merged = mergeDeep(
    mergeDeep(raw, ENVIRONMENT_DEFAULTS[environment] ?? {}, { keepTarget: true }),
    (fileOverlay as Record<string, unknown>) ?? {},
  )
  // Variables override everything, including the environment's block.
  applyEnv(merged, env)

  const parsed = ConfigSchema.safeParse(merged)
  if (!parsed.success) problems.push(...parsed.error.issues.map(describeIssue))
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems, options.file)

  const config = normalize(parsed.data, env, problems)
  if (problems.length > 0) throw new ConfigError(problems, options.file)
  return deepFreeze(config) as Config
}

function readYaml(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError([`cannot read the file: ${(err as Error).message}`], file)
  }
  try {
    return parseYaml(text)
  } catch (err) {
    throw new ConfigError([`not valid YAML: ${(err as Error).message}`], file)
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.join('.') : '(top level)'
  if (issue.code === 'unrecognized_keys')
    return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
  return `${path}: ${issue.message}`
}

function normalize(raw: RawConfig, env: Env, problems: string[]): Normalized {
  const hc = raw.http_client
  const http_client = {
    ...hc,
    retry_attempts: hc.retry_attempts ?? hc.retry_config?.attempts ?? 3,
    retry_backoff_factor: hc.retry_backoff_factor ?? hc.retry_config?.backoff_factor ?? 0.5,
  }
  const performance = { ...raw.performance, cache_ttl_multiplier: raw.performance.cache_ttl_multiplier ?? 1 }

  const names = new Set<string>()
  const providers = raw.providers.map((p, i) => {
    if (names.has(p.name)) problems.push(`providers.${i}.name: duplicate provider name "${p.name}"`)
    names.add(p.name)
    if (p.api_key && p.api_key_env) problems.push(`providers.${i}: give api_key or api_key_env, not both`)
    let api_key = p.api_key
    if (p.api_key_env) {
      api_key = env[p.api_key_env]
      if (!api_key)
        problems.push(`providers.${i}.api_key_env: environment variable ${p.api_key_env} is not set`)
    }
    return { ...p, api_key }
  })

  const exposed = new Map<string, string>()
  for (const [model, route] of Object.entries(raw.models)) {
    for (const name of [model, ...route.aliases]) {
      const owner = exposed.get(name)
      if (owner) problems.push(`models.${model}: name "${name}" is already used by models.${owner}`)
      exposed.set(name, model)
    }
    route.deployments.forEach((d, i) => {
      if (!names.has(d.provider)) {
        problems.push(`models.${model}.deployments.${i}.provider: no provider named "${d.provider}"`)
      }
    })
  }

  if (raw.server.headers_timeout > raw.server.request_timeout) {
    problems.push('server.headers_timeout: must not exceed server.request_timeout')
  }
  if (raw.memory.gc_threshold_percent > raw.memory.max_usage_percent) {
    problems.push('memory.gc_threshold_percent: must not exceed memory.max_usage_percent')
  }
  // Deny by default: only a development proxy serves its client routes to anyone.
  if (raw.app.environment !== 'development' && raw.auth.api_keys.length === 0) {
    problems.push(
      `auth.api_keys: ${raw.app.environment} needs at least one client key (or PROXY_API_KEYS); only development runs without`,
    )
  }
  const alerting = resolveChannelSecrets(raw.alerting, env, problems)
  return { ...raw, http_client, performance, providers, alerting }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Merges `source` into a copy of `target`; arrays and scalars replace. `keepTarget` fills gaps only. */
export function mergeDeep(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
  options: { keepTarget?: boolean } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target }
  for (const [key, value] of Object.entries(source)) {
    const current = out[key]
    if (isPlainObject(current) && isPlainObject(value)) out[key] = mergeDeep(current, value, options)
    else if (!(options.keepTarget && current !== undefined)) out[key] = value
  }
  return out
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
