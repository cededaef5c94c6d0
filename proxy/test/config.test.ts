import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config/load.ts'
import { REDACTED, redactSecrets } from '../src/config/redact.ts'

const providers = [{ name: 'a', wire: 'openai', base_url: 'http://127.0.0.1:1/v1' }]

function problems(fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('configuration', () => {
  it('fills in the guide defaults when the file is empty', () => {
    const config = loadConfig({ document: {} })
    expect(config.http_client.timeout).toBe(30)
    expect(config.http_client.pool_limits).toEqual({
      max_connections: 100,
      max_keepalive_connections: 30,
      keepalive_timeout: 30,
    })
    expect(config.http_client.retry_attempts).toBe(3)
    expect(config.http_client.retry_backoff_factor).toBe(0.5)
    expect(config.http_client.retry_status_codes).toEqual([429, 500, 502, 503, 504])
    expect(config.circuit_breaker).toMatchObject({
      failure_threshold: 5,
      recovery_timeout: 60,
      half_open_max_calls: 3,
    })
    expect(config.caching.response_cache).toMatchObject({ max_size_mb: 100, ttl: 1800, compression: true })
    expect(config.caching.summary_cache).toMatchObject({ max_size_mb: 50, ttl: 3600 })
    expect(config.memory).toMatchObject({
      max_usage_percent: 85,
      gc_threshold_percent: 80,
      monitoring_interval: 30,
    })
    expect(config.performance.http_client.dns_cache_ttl).toBe(300)
    expect(config.performance.circuit_breaker.recovery_success_threshold).toBe(0.8)
  })

  it('lists every violation in one error, each naming its key', () => {
    const found = problems(() =>
      loadConfig({
        document: {
          http_client: { timeout: -1, pool_limits: { max_connections: 'many' } },
          circuit_breaker: { failure_treshold: 5 },
          server: { port: 70000 },
        },
      }),
    )
    expect(found).toHaveLength(4)
    expect(found.join('\n')).toMatch(/http_client\.timeout/)
    expect(found.join('\n')).toMatch(/http_client\.pool_limits\.max_connections/)
    expect(found.join('\n')).toMatch(/circuit_breaker: unknown key failure_treshold/)
    expect(found.join('\n')).toMatch(/server\.port/)
  })

  it('checks references between sections', () => {
    const found = problems(() =>
      loadConfig({
        document: {
          providers: [...providers, ...providers],
          models: {
            m: { aliases: ['x'], deployments: [{ provider: 'nope' }] },
            x: { deployments: [{ provider: 'a' }] },
          },
          memory: { gc_threshold_percent: 90, max_usage_percent: 85 },
        },
      }),
    )
    expect(found).toContain('providers.1.name: duplicate provider name "a"')
    expect(found).toContain('models.m.deployments.0.provider: no provider named "nope"')
    expect(found).toContain('models.x: name "x" is already used by models.m')
    expect(found).toContain('memory.gc_threshold_percent: must not exceed memory.max_usage_percent')
  })

  it('lets the guide environment variables override the file', () => {
    const config = loadConfig({
      document: { http_client: { timeout: 10 } },
      env: {
        HTTP_TIMEOUT: '45',
        HTTP_MAX_CONNECTIONS: '200',
        HTTP_CONNECT_TIMEOUT: '3',
        CACHE_MAX_MEMORY_MB: '512',
        CACHE_TTL: '60',
        CACHE_COMPRESSION: 'false',
        MEMORY_MAX_USAGE_PERCENT: '80',
        MEMORY_MONITORING_INTERVAL: '60',
        WORKERS: '4',
        WORKER_CONNECTIONS: '1000',
        MAX_REQUESTS: '1000',
      },
    })
    expect(config.http_client.timeout).toBe(45)
    expect(config.http_client.pool_limits.max_connections).toBe(200)
    expect(config.http_client.connect_timeout).toBe(3)
    expect(config.caching.response_cache).toMatchObject({ max_size_mb: 512, ttl: 60, compression: false })
    expect(config.memory).toMatchObject({ max_usage_percent: 80, monitoring_interval: 60 })
    expect(config.server).toMatchObject({ workers: 4, worker_connections: 1000, max_requests: 1000 })
  })

  it('names the variable when its value is unreadable', () => {
    expect(problems(() => loadConfig({ env: { HTTP_TIMEOUT: 'soon', WORKERS: '2.5' } }))).toEqual([
      'WORKERS: expected an integer, got "2.5"',
      'HTTP_TIMEOUT: expected a number, got "soon"',
    ])
  })

  it('applies the APP_ENV tuning, and the file can change it', () => {
    expect(loadConfig({ env: { APP_ENV: 'development' } }).performance.cache_ttl_multiplier).toBe(0.1)
    const key = { PROXY_API_KEYS: 'sk-client-0001' }
    expect(loadConfig({ env: { APP_ENV: 'staging', ...key } }).performance.cache_ttl_multiplier).toBe(0.5)
    const production = loadConfig({ env: { APP_ENV: 'production', PROXY_API_KEYS: 'sk-client-0001' } })
    expect(production.performance.cache_ttl_multiplier).toBe(1)
    expect(production.performance.debug_logging).toBe(false)
    const tuned = loadConfig({
      document: { environments: { staging: { performance: { cache_ttl_multiplier: 0.25 } } } },
      env: { APP_ENV: 'staging', ...key },
    })
    expect(tuned.performance.cache_ttl_multiplier).toBe(0.25)
  })

  it('refuses staging and production without client keys: only development serves anyone', () => {
    for (const environment of ['staging', 'production'])
      expect(problems(() => loadConfig({ env: { APP_ENV: environment } }))).toEqual([
        `auth.api_keys: ${environment} needs at least one client key (or PROXY_API_KEYS); only development runs without`,
      ])
    expect(loadConfig({ env: { APP_ENV: 'development' } }).auth.api_keys).toEqual([])
  })

  it('takes provider keys from the environment and redacts them when printed', () => {
    const config = loadConfig({
      document: {
        providers: [{ ...providers[0], api_key_env: 'A_KEY' }],
        auth: { admin_keys: ['admin-key-123'] },
      },
      env: { A_KEY: 'sk-secret-provider-key', REDIS_URL: 'redis://user:hunter2@127.0.0.1:6379' },
    })
    expect(config.providers[0].api_key).toBe('sk-secret-provider-key')
    const printed = JSON.stringify(redactSecrets(config))
    expect(printed).not.toContain('sk-secret-provider-key')
    expect(printed).not.toContain('admin-key-123')
    expect(printed).not.toContain('hunter2')
    expect(printed).toContain(REDACTED)
    expect(
      problems(() => loadConfig({ document: { providers: [{ ...providers[0], api_key_env: 'MISSING' }] } })),
    ).toEqual(['providers.0.api_key_env: environment variable MISSING is not set'])
  })

  it('is frozen', () => {
    const config = loadConfig({})
    expect(Object.isFrozen(config.http_client.pool_limits)).toBe(true)
  })

  it('reports unreadable YAML with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'))
    const file = join(dir, 'config.yaml')
    writeFileSync(file, 'server: [unclosed')
    expect(() => loadConfig({ file })).toThrow(/config\.yaml.*\n.*not valid YAML/)
  })

  it('accepts the shipped proxy/config.yaml', () => {
    const config = loadConfig({ file: 'proxy/config.yaml' })
    expect(config.providers.map((p) => p.name)).toEqual(['mock-openai', 'mock-anthropic'])
    expect(Object.keys(config.models)).toContain('gpt-4o-mini')
  })
})
