import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { type Mocks, startMocks } from '../../mock-providers/src/index.ts'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { type AppDeps, buildApp } from '../src/app.ts'
import { loadConfig, mergeDeep } from '../src/config/load.ts'

export const CLIENT_KEY = 'sk-test-client-key-0001'
export const ADMIN_KEY = 'sk-test-admin-key-0001'

export interface Harness {
  mocks: Mocks
  app: FastifyInstance
  url: string
  close(): Promise<void>
}

/** A proxy config document routing to the two mocks (and a dead port for failover tests). */
export function configFor(mocks: Mocks, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = {
    logging: { level: 'silent' },
    // Off unless a test turns it on: tests that change a mock's profile expect every request to reach it.
    caching: { enabled: false },
    auth: { api_keys: [CLIENT_KEY], admin_keys: [ADMIN_KEY] },
    http_client: { retry_backoff_factor: 0.01, timeout: 5, read_timeout: 5, connect_timeout: 2 },
    streaming: { ping_interval: 0 },
    providers: [
      {
        name: 'openai-a',
        wire: 'openai',
        base_url: `${mocks.openai.url}/v1`,
        api_key: 'sk-provider-secret-a',
      },
      {
        name: 'anthropic-a',
        wire: 'anthropic',
        base_url: mocks.anthropic.url,
        api_key: 'sk-ant-provider-secret',
      },
    ],
    models: {
      'gpt-4o-mini': { deployments: [{ provider: 'openai-a' }] },
      'claude-3-5-haiku-latest': { aliases: ['haiku'], deployments: [{ provider: 'anthropic-a' }] },
      // The same answer from either wire: OpenAI first, Anthropic when it fails.
      resilient: {
        deployments: [
          { provider: 'openai-a', model: 'gpt-4o-mini' },
          { provider: 'anthropic-a', model: 'claude-3-5-haiku-latest' },
        ],
      },
    },
  }
  return mergeDeep(base, overrides)
}

export async function startProxy(
  mocks: Mocks,
  overrides: Record<string, unknown> = {},
  deps: AppDeps = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const config = loadConfig({ document: configFor(mocks, overrides) })
  const app = await buildApp(config, { logger: pino({ level: 'silent' }), ...deps })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

export async function startAll(
  options: { profile?: ProfileInput | string; overrides?: Record<string, unknown>; deps?: AppDeps } = {},
): Promise<Harness> {
  const mocks = await startMocks({ profile: options.profile ?? 'baseline', seed: 7 })
  try {
    const { app, url } = await startProxy(mocks, options.overrides, options.deps)
    return {
      mocks,
      app,
      url,
      close: async () => {
        await app.close()
        await mocks.close()
      },
    }
  } catch (err) {
    await mocks.close()
    throw err
  }
}

export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hello to the proxy.' }],
    max_tokens: 20,
    ...extra,
  }
}

export async function postChat(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/** Reads an SSE body into its data payloads. */
export async function sseData(res: Response): Promise<string[]> {
  const text = await res.text()
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length))
}
