import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config/load.ts'
import { CLIENT_KEY } from './helpers.ts'

/** A provider that answers however a test wants, on loopback port 0 (what the mocks will not do). */
export interface HostileUpstream {
  readonly url: string
  close(): Promise<void>
}

export async function startHostileUpstream(
  answer: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<HostileUpstream> {
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => answer(req, body, res))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

/** An OpenAI chat completion whose message says `content`. */
export function completionBody(content: string): string {
  return JSON.stringify({
    id: 'chatcmpl-hostile',
    object: 'chat.completion',
    created: 0,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 },
  })
}

/**
 * A proxy (in this process, quiet, cache off, the client key of helpers.ts) in front of hand-made
 * providers: `document` adds providers, models and any other setting.
 */
export async function proxyOver(
  document: Record<string, unknown>,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = await buildApp(
    loadConfig({
      document: {
        logging: { level: 'silent' },
        caching: { enabled: false },
        auth: { api_keys: [CLIENT_KEY] },
        ...document,
      },
    }),
    { logger: pino({ level: 'silent' }) },
  )
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { url, close: () => app.close() }
}
