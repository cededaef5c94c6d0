import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'

const JSON_TYPE = { 'content-type': 'application/json' }

/**
 * The dispatch handler of the `pool.dispatch` reference gateways: relays the upstream answer to
 * the client as it arrives (no Readable, no promise). Status, type, length and every body chunk
 * pass through, so streams go chunk by chunk with backpressure; a client that leaves aborts the
 * upstream call.
 */
export class Relay implements Dispatcher.DispatchHandler {
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
    else this.res.writeHead(502, JSON_TYPE).end('{"error":{"message":"upstream failed"}}')
  }
}

/** The options both reference gateways (passthrough.ts, passthrough-dispatch.ts) take. */
export const GATEWAY_FLAGS = {
  upstream: {
    type: 'string',
    default: 'http://127.0.0.1:8101/v1',
    value: 'url',
    help: "the provider's base URL",
  },
  port: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 65535,
    value: 'port',
    help: 'port to listen on, 127.0.0.1 (0: any free one)',
  },
  connections: {
    type: 'integer',
    default: 100,
    min: 1,
    value: 'n',
    help: 'connections of the upstream pool',
  },
} as const
