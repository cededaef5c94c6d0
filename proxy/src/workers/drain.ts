import type { Socket } from 'node:net'
import { Server } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { ProxyError } from '../errors.ts'
import { routeConfig } from '../http/route-config.ts'

// Graceful stop without dropping a request, for SIGTERM and for a worker being recycled:
//
// 1. Stop accepting connections (the listening socket closes; under node:cluster the primary
//    stops handing this worker connections and gives queued ones to another worker). Fastify's
//    own close is not used for this: it would also close idle keep-alive sockets at once, racing
//    a client that is just sending its next request on one, and answer 503 to requests arriving
//    on open connections.
// 2. Stopping (SIGTERM): a request arriving on a kept-alive socket is not started: it is answered
//    503 `shutting_down` with `Connection: close`, so the client goes elsewhere (health and metrics
//    still answer, saying the proxy is shutting down). Recycling a worker (the instance keeps
//    serving on the same port): such a request is served, with `Connection: close`, so the client's
//    next one reaches a fresh worker. In-flight requests and streams run to their end.
// 3. A socket with no request in progress and no byte received for `idleGraceMs` is closed: the
//    client has gone quiet, so closing it cannot cut a request in flight.
// 4. At the deadline (server.shutdown_timeout) the requests still in progress are cancelled with
//    `shutting_down`: a stream gets it as its last event, a request not yet answered as a 503.
//    Sockets still busy a second later are cut (the drain was not clean).
// 5. When no connection is left, fastify closes the app: provider pools, timers, caches.

/** After the deadline's cancellations, how long their last events and 503s get to reach the clients. */
const CUT_AFTER_MS = 1000

export interface DrainState {
  draining: boolean
  /** New requests on open sockets are refused (stopping), not served with Connection: close (recycling). */
  refuseNew: boolean
}

export interface Drainer {
  readonly state: DrainState
  /** Resolves true when every connection ended by itself, false when the deadline cut some. */
  drain(options: {
    timeoutMs: number
    idleGraceMs?: number
    logger: Logger
    recycling?: boolean
  }): Promise<boolean>
}

interface SocketWatch {
  bytesRead: number
  quietSince: number
}

/** Installs the hooks and connection tracking on an app not yet listening. */
export function prepareDrain(app: FastifyInstance, onDrain?: () => void): Drainer {
  const state: DrainState = { draining: false, refuseNew: false }
  const sockets = new Set<Socket>()
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  // Node merges headers set on the raw response into writeHead, fastify's and ours alike.
  app.addHook('onRequest', (request, reply, done) => {
    if (!state.draining) return done()
    reply.raw.setHeader('connection', 'close')
    if (!state.refuseNew || routeConfig(request).access === 'public') return done()
    done(new ProxyError('shutting_down', { headers: { 'retry-after': '1' } }))
  })

  let drained: Promise<boolean> | undefined
  const drain: Drainer['drain'] = (options) => {
    drained ??= (async () => {
      state.draining = true
      state.refuseNew = options.recycling !== true
      onDrain?.()
      Server.prototype.close.call(app.server)
      const graceMs = options.idleGraceMs ?? 1000
      const watch = new WeakMap<Socket, SocketWatch>()
      const deadline = Date.now() + options.timeoutMs
      let clean = true
      let cancelledAt: number | undefined
      while (sockets.size > 0) {
        const now = Date.now()
        if (now >= deadline && cancelledAt === undefined) {
          cancelledAt = now
          const cancelled = app.inFlight.abortAll(
            new ProxyError('shutting_down', {
              message: 'The proxy is shutting down (server.shutdown_timeout); the answer is incomplete.',
            }),
          )
          options.logger.warn(
            { requests: cancelled },
            'shutdown deadline reached, ending requests in progress',
          )
        }
        if (cancelledAt !== undefined && now - cancelledAt >= CUT_AFTER_MS) {
          const busy = [...sockets].filter(isBusy).length
          if (busy > 0) {
            options.logger.warn(
              { connections: busy },
              'connections still busy after the deadline; cutting them',
            )
            clean = false
          }
          for (const s of sockets) s.destroy()
          break
        }
        for (const s of sockets) closeIfQuiet(s, watch, now, cancelledAt === undefined ? graceMs : 0)
        await new Promise((r) => setTimeout(r, 50))
      }
      await app.close()
      return clean
    })()
    return drained
  }
  return { state, drain }
}

/** A response is in progress on the socket (Node's own closeIdleConnections() reads the same field). */
function isBusy(socket: Socket): boolean {
  const response = (socket as Socket & { _httpMessage?: { writableFinished?: boolean } | null })._httpMessage
  return response != null && !response.writableFinished
}

function closeIfQuiet(
  socket: Socket,
  watch: WeakMap<Socket, SocketWatch>,
  now: number,
  graceMs: number,
): void {
  const busy = isBusy(socket)
  const seen = watch.get(socket)
  if (!seen || busy || seen.bytesRead !== socket.bytesRead) {
    watch.set(socket, { bytesRead: socket.bytesRead, quietSince: now })
    return
  }
  if (now - seen.quietSince >= graceMs) socket.destroySoon()
}
