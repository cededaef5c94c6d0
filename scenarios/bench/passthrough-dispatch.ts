import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import { readCommandLine } from '../run/command-line.ts'
import { GATEWAY_FLAGS, Relay } from './relay.ts'

// The barest reference gateway of `npm run bench`: node:http and undici 8's `pool.dispatch` with a
// handler that relays the answer as it arrives (relay.ts: no Readable, no promise, no framework).
// It parses the JSON body to route by model and forwards the bytes it received. Nothing else: no
// auth, retries, metrics or logs.

const { values } = readCommandLine({
  usage: 'node scenarios/bench/passthrough-dispatch.ts [options]',
  about: "The barest reference gateway of npm run bench: node:http and undici 8's pool.dispatch.",
  flags: {
    ...GATEWAY_FLAGS,
  },
})
const upstream = new URL(values.upstream)
const routes = new Map([['gpt-4o-mini', new Pool(upstream.origin, { connections: values.connections })]])
const path = `${upstream.pathname.replace(/\/$/, '')}/chat/completions`
const headers = { 'content-type': 'application/json' }

function route(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  let model: unknown
  try {
    model = JSON.parse(body.toString()).model
  } catch {
    res.writeHead(400, headers).end('{"error":{"message":"invalid JSON"}}')
    return
  }
  const pool = req.url === '/v1/chat/completions' ? routes.get(model as string) : undefined
  if (pool === undefined) res.writeHead(404, headers).end('{"error":{"message":"not found"}}')
  else pool.dispatch({ method: 'POST', path, headers, body }, new Relay(res))
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => route(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)))
})
server.keepAliveTimeout = 72_000
server.listen(values.port, '127.0.0.1', () => {
  console.log(`passthrough listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
const stop = () => {
  server.close()
  server.closeAllConnections()
  Promise.all([...routes.values()].map((pool) => pool.close())).then(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
