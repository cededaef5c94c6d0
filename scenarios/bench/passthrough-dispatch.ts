import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { type Dispatcher, Pool } from 'undici'

// The barest reference gateway of `npm run bench`: node:http and undici 8's `pool.dispatch` with a
// handler that relays the answer as it arrives (no Readable, no promise, no framework). It parses
// the JSON body to route by model, forwards the bytes it received and relays status, type, length
// and every body chunk, so streams pass through chunk by chunk with backpressure; a client that
// leaves aborts the upstream call. Nothing else: no auth, retries, metrics or logs.

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    port: { type: 'string', default: '0' },
    connections: { type: 'string', default: '100' },
  },
})
const upstream = new URL(values.upstream ?? 'http://127.0.0.1:8101/v1')
const routes = new Map([
  ['gpt-4o-mini', new Pool(upstream.origin, { connections: Number(values.connections) })],
])
const path = `${upstream.pathname.replace(/\/$/, '')}/chat/completions`
const headers = { 'content-type': 'application/json' }

class Relay implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse
  controller: Dispatcher.DispatchController | undefined
  constructor(res: ServerResponse) {
    this.res = res
    res.once('close', this.onClose)
  }
  onClose = () => {
    if (!this.res.writableFinished) this.controller?.abort(new Error('client left'))
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
  }
  onResponseStart(_c: Dispatcher.DispatchController, status: number, h: IncomingHttpHeaders): void {
    const out: Record<string, string> = { 'content-type': h['content-type'] ?? 'application/json' }
    if (h['content-length'] !== undefined) out['content-length'] = h['content-length']
    this.res.writeHead(status, out)
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return
    controller.pause()
    this.res.once('drain', () => controller.resume())
  }
  onResponseEnd(): void {
    this.res.end()
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.res.headersSent) this.res.destroy(err)
    else this.res.writeHead(502, headers).end('{"error":{"message":"upstream failed"}}')
  }
}

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
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`passthrough listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
const stop = () => {
  server.close()
  server.closeAllConnections()
  Promise.all([...routes.values()].map((pool) => pool.close())).then(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
