import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { type Service, startService } from './services.ts'

// What the proxy benchmarks share: the request they send, the client key of the proxies they
// boot, how a proxy's config file is written, how results are saved, and the processes they
// start and always stop.

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

export const MOCK_READY = /mock-openai listening on (http:\/\/\S+)/
export const PROXY_READY = /"address":"(http:\/\/[^"]+)"/
/** The environment a benchmarked proxy runs in: production tuning, quiet logs, one client key. */
export const PROXY_ENV = { APP_ENV: 'production', LOG_LEVEL: 'warn', PROXY_API_KEYS: BENCH_KEY }

/** Writes a proxy configuration to a temporary file and returns its path. */
export function writeProxyConfig(prefix: string, document: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), `${prefix}-`)), 'config.yaml')
  writeFileSync(file, stringify(document))
  return file
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

/** Saves a benchmark's raw results as JSON (default reports/out/<name>-<time>.json) and says where. */
export function saveResults(name: string, data: unknown, out?: string): string {
  const file = out ?? join('reports', 'out', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(join(file, '..'), { recursive: true })
  writeFileSync(file, JSON.stringify(data, null, 2))
  console.log(`\nraw results: ${file}`)
  return file
}

/** Runs a benchmark that starts services through `start`, and stops them all whatever happens. */
export function runBench(
  main: (start: (options: Parameters<typeof startService>[0]) => Promise<Service>) => Promise<void>,
): void {
  const services: Service[] = []
  const start = async (options: Parameters<typeof startService>[0]) => {
    const service = await startService(options)
    services.push(service)
    return service
  }
  main(start)
    .catch((err) => {
      console.error(err)
      process.exitCode = 1
    })
    .finally(() => Promise.all(services.map((s) => s.stop())))
}
