import type { Socket } from 'node:net'
import { Server } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'

// Graceful stop without dropping a request, for SIGTERM and for a worker being recycled:
//
// 1. Stop accepting connections (the listening socket closes; under node:cluster the primary
//    stops handing this worker connections and gives queued ones to another worker). Fastify's
//    own close is not used for this: it would also close idle keep-alive sockets at once, racing
//    a client that is just sending its next request on one, and answer 503 to requests arriving
//    on open connections.
// 2. Every answer from now on carries `Connection: close`, so a keep-alive client opens its next
//    connection elsewhere. In-flight requests and streams run to their end.
// 3. A socket with no request in progress and no byte received for `idleGraceMs` is closed: the
//    client has gone quiet, so closing it cannot cut a request in flight.
// 4. When no connection is left (or at the deadline, server.shutdown_timeout, when the rest are
//    cut), fastify closes the app: provider pools, timers, caches.

export interface DrainState {
  draining: boolean
}

export interface Drainer {
  readonly state: DrainState
  /** Resolves true when every connection ended by itself, false when the deadline cut some. */
  drain(options: { timeoutMs: number; idleGraceMs?: number; logger: Logger }): Promise<boolean>
}

interface SocketWatch {
  bytesRead: number
  quietSince: number
}

/** Installs the hooks and connection tracking on an app not yet listening. */
export function prepareDrain(app: FastifyInstance, onDrain?: () => void): Drainer {
  const state: DrainState = { draining: false }
  const sockets = new Set<Socket>()
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  // Node merges headers set on the raw response into writeHead, fastify's and ours alike.
  app.addHook('onRequest', (_request, reply, done) => {
    if (state.draining) reply.raw.setHeader('connection', 'close')
    done()
  })

  let drained: Promise<boolean> | undefined
  const drain: Drainer['drain'] = (options) => {
    drained ??= (async () => {
      state.draining = true
      onDrain?.()
      Server.prototype.close.call(app.server)
      const graceMs = options.idleGraceMs ?? 1000
      const watch = new WeakMap<Socket, SocketWatch>()
      const deadline = Date.now() + options.timeoutMs
      let clean = true
      while (sockets.size > 0) {
        const now = Date.now()
        if (now >= deadline) {
          options.logger.warn(
            { connections: sockets.size },
            'shutdown deadline reached, closing remaining connections',
          )
          for (const s of sockets) s.destroy()
          clean = false
          break
        }
        for (const s of sockets) closeIfQuiet(s, watch, now, graceMs)
        await new Promise((r) => setTimeout(r, 50))
      }
      await app.close()
      return clean
    })()
    return drained
  }
  return { state, drain }
}

function closeIfQuiet(
  socket: Socket,
  watch: WeakMap<Socket, SocketWatch>,
  now: number,
  graceMs: number,
): void {
  // Node's own closeIdleConnections() reads the same field: the response in progress, if any.
  const response = (socket as Socket & { _httpMessage?: { writableFinished?: boolean } | null })._httpMessage
  const busy = response != null && !response.writableFinished
  const seen = watch.get(socket)
  if (!seen || busy || seen.bytesRead !== socket.bytesRead) {
    watch.set(socket, { bytesRead: socket.bytesRead, quietSince: now })
    return
  }
  if (now - seen.quietSince >= graceMs) socket.destroySoon()
}
