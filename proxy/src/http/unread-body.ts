import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'

// The bytes of a request body the proxy has not read yet: when to invite them (Expect:
// 100-continue), and what to do with them after a refusal.

/** A refused request's unread body larger than this closes its connection (a smaller one is read and dropped). */
export const UNREAD_BODY_LIMIT = 64 * 1024
/** How long a refused client may go on sending after its answer before its connection is cut. */
const LINGER_MS = 2000

/**
 * After a refusal sent before the request's body was read (no key, over the limit, shed), Node
 * would read the rest of the body and drop it, to keep the connection: however much a client
 * without a key chose to send. A large or chunked body instead ends the connection once the
 * answer is out: the proxy stops writing (the client reads its answer, then the end) and cuts the
 * connection when the client has not closed it within LINGER_MS. Not at once: a connection closed
 * with unread bytes is reset, and the reset can reach the client before it has read its answer.
 */
export function endAfterRefusal(raw: IncomingMessage, res: ServerResponse): void {
  if (raw.complete) return
  const length = raw.headers['content-length']
  if (
    raw.headers['transfer-encoding'] === undefined &&
    (length === undefined || Number(length) <= UNREAD_BODY_LIMIT)
  )
    return
  const socket = raw.socket
  res.once('finish', () => {
    if (socket.destroyed) return
    socket.end()
    const cut = setTimeout(() => socket.destroy(), LINGER_MS)
    cut.unref()
    socket.once('close', () => clearTimeout(cut))
  })
}

/**
 * `Expect: 100-continue` is answered when the proxy starts reading the body, that is once the
 * request has been let in (its key, its route, admission, a Content-Length within the limit). Left
 * to itself, Node says 100 Continue as the request arrives, before any check: a client without a
 * key, or with a body over the limit, is invited to send megabytes only to be refused. A request
 * refused unread never gets it (the refusal is its answer, as RFC 9110 allows).
 */
export function continueWhenRead(app: FastifyInstance): void {
  const server = app.server
  server.on('checkContinue', (req, res) => {
    req.once('resume', () => {
      if (!res.headersSent && !res.writableEnded) res.writeContinue()
    })
    server.emit('request', req, res)
  })
}
