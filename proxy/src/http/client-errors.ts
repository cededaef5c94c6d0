import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { ProxyError } from '../errors.ts'

/**
 * Requests Node's HTTP parser refuses before any route sees them (a malformed request line or
 * header, Content-Length with Transfer-Encoding, headers over the size limit, a request that did
 * not arrive within server.request_timeout) get an answer in the OpenAI error shape too, then the
 * connection is closed: its byte stream can no longer be trusted.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const error = clientError(err)
  const body = JSON.stringify(error.toJSON())
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  )
}

export function clientError(err: NodeJS.ErrnoException): ProxyError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ProxyError('request_header_too_large')
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ProxyError('request_timeout')
    default:
      return new ProxyError('invalid_request', {
        message: `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}).`,
      })
  }
}

/**
 * The HTTP server, with Node's request timeouts checked every second (the default is every 30 s,
 * which lets a stalled upload hold its socket that much longer than server.request_timeout), and
 * an idle kept-alive connection held for server.keep_alive_timeout. Fastify applies its own
 * keepAliveTimeout only to a server it creates, so a factory that does not set it leaves Node's
 * 5 s: clients' pools then drop idle connections after about 4 s and pay a new connection in the
 * next burst, and a load balancer that keeps its connections idle longer (60 s by default on
 * AWS's) reuses one the proxy is closing, and answers its client 502.
 */
export function serverFactory(options: {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
}) {
  return (handler: (req: IncomingMessage, res: ServerResponse) => void): Server =>
    createServer(
      {
        headersTimeout: options.headersTimeoutMs,
        requestTimeout: options.requestTimeoutMs,
        keepAliveTimeout: options.keepAliveTimeoutMs,
        connectionsCheckingInterval: 1000,
      },
      handler,
    )
}
