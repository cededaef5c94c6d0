// The environment variables of the performance guide and where each lands in the config.
// This is the only module that knows about them; it is handed the environment, never reads it.

type Kind = 'int' | 'number' | 'boolean' | 'string' | 'list'

interface EnvBinding {
  readonly name: string
  readonly path: readonly string[]
  readonly kind: Kind
}

const bind = (name: string, path: string, kind: Kind): EnvBinding => ({ name, path: path.split('.'), kind })

export const ENV_BINDINGS: readonly EnvBinding[] = [
  bind('APP_ENV', 'app.environment', 'string'),
  bind('HOST', 'server.host', 'string'),
  bind('PORT', 'server.port', 'int'),
  bind('WORKERS', 'server.workers', 'int'),
  bind('WORKER_CONNECTIONS', 'server.worker_connections', 'int'),
  bind('MAX_REQUESTS', 'server.max_requests', 'int'),
  bind('HTTP_MAX_CONNECTIONS', 'http_client.pool_limits.max_connections', 'int'),
  bind('HTTP_TIMEOUT', 'http_client.timeout', 'number'),
  bind('HTTP_CONNECT_TIMEOUT', 'http_client.connect_timeout', 'number'),
  bind('CACHE_MAX_MEMORY_MB', 'caching.response_cache.max_size_mb', 'number'),
  bind('CACHE_TTL', 'caching.response_cache.ttl', 'number'),
  bind('CACHE_COMPRESSION', 'caching.response_cache.compression', 'boolean'),
  bind('REDIS_URL', 'caching.redis.url', 'string'),
  bind('MEMORY_MAX_USAGE_PERCENT', 'memory.max_usage_percent', 'number'),
  bind('MEMORY_MONITORING_INTERVAL', 'memory.monitoring_interval', 'number'),
  bind('PERFORMANCE_PROFILING', 'profiling.enabled', 'boolean'),
  bind('PROFILE_INTERVAL', 'profiling.profile_interval', 'number'),
  bind('LOG_LEVEL', 'logging.level', 'string'),
  bind('PROXY_API_KEYS', 'auth.api_keys', 'list'),
  bind('PROXY_ADMIN_KEYS', 'auth.admin_keys', 'list'),
]

export type Env = Readonly<Record<string, string | undefined>>

function convert(raw: string, kind: Kind): { value?: unknown; error?: string } {
  const text = raw.trim()
  switch (kind) {
    case 'int':
      return /^-?\d+$/.test(text) ? { value: Number(text) } : { error: `expected an integer, got "${raw}"` }
    case 'number':
      return text !== '' && Number.isFinite(Number(text))
        ? { value: Number(text) }
        : { error: `expected a number, got "${raw}"` }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return { value: true }
      if (/^(false|0|no|off)$/i.test(text)) return { value: false }
      return { error: `expected true or false, got "${raw}"` }
    case 'list':
      return {
        value: text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      }
    default:
      return { value: text }
  }
}

/** Writes every bound variable present in `env` into `target`; returns the problems found. */
export function applyEnv(target: Record<string, unknown>, env: Env): string[] {
  const problems: string[] = []
  for (const binding of ENV_BINDINGS) {
    const raw = env[binding.name]
    if (raw === undefined || raw === '') continue
    const { value, error } = convert(raw, binding.kind)
    if (error) {
      problems.push(`${binding.name}: ${error}`)
      continue
    }
    setPath(target, binding.path, value)
  }
  return problems
}

export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]
    const next = node[key]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[path[path.length - 1]] = value
}
