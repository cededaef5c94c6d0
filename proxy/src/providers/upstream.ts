import type { LookupFunction } from 'node:net'
import { type Dispatcher, Pool } from 'undici'
import type { CancelSignal } from '../cancel.ts'
import type { Config } from '../config/load.ts'
import { type Answer, BufferedCall } from './buffered-call.ts'
import type { CallWatch, StartBound } from './call-watch.ts'
import type { UpstreamRequest } from './types.ts'

export interface PoolStats {
  connected: number
  free: number
  pending: number
  queued: number
  running: number
  size: number
}

/**
 * The guide's http_client settings mapped onto one undici Pool per provider:
 * - pool_limits.max_connections -> `connections` (sockets to the origin; POST is never pipelined)
 * - pool_limits.keepalive_timeout -> `keepAliveTimeout` and `keepAliveMaxTimeout` (an idle
 *   socket is closed after it, even if the server hints at a longer keep-alive)
 * - pool_limits.max_keepalive_connections -> no undici equivalent: undici keeps every socket it
 *   opened until it has been idle for keepalive_timeout. The value is reported beside the pool's
 *   idle count in metrics so an operator sees when idle sockets exceed it.
 * - timeout -> `headersTimeout` (the wait for the response head, which covers a provider that
 *   never answers), read_timeout -> `bodyTimeout` (the longest gap between body chunks),
 *   connect_timeout -> `connect.timeout`.
 * - performance.http_client.tcp_keepalive / tcp_keepalive_idle -> `connect.keepAlive` /
 *   `keepAliveInitialDelay`; tcp_keepalive_interval and _count have no Node API and are ignored.
 * - performance.http_client.dns_cache_ttl -> a caching `connect.lookup`.
 */
export function poolOptions(config: Config, lookup: LookupFunction | undefined): Pool.Options {
  const http = config.http_client
  const tcp = config.performance.http_client
  const keepAliveMs = http.pool_limits.keepalive_timeout * 1000
  return {
    connections: http.pool_limits.max_connections,
    pipelining: 1,
    keepAliveTimeout: keepAliveMs,
    keepAliveMaxTimeout: keepAliveMs,
    headersTimeout: http.timeout * 1000,
    bodyTimeout: http.read_timeout * 1000,
    allowH2: false,
    connect: {
      timeout: http.connect_timeout * 1000,
      keepAlive: tcp.tcp_keepalive,
      keepAliveInitialDelay: tcp.tcp_keepalive_idle * 1000,
      ...(lookup ? { lookup } : {}),
    },
  }
}

export class Upstream {
  readonly origin: string
  readonly #pool: Pool

  constructor(baseUrl: string, options: Pool.Options) {
    this.origin = new URL(baseUrl).origin
    this.#pool = new Pool(this.origin, options)
  }

  /**
   * A whole non-streaming answer, gathered without a Readable (see BufferedCall), complete by
   * `startBy` (monotonic ms, set by `bound`) or ended by `watch`.
   */
  call(
    req: UpstreamRequest,
    cancel: CancelSignal,
    limits: { success: number; error: number },
    headersTimeout: number,
    watch: CallWatch,
    startBy: number,
    bound: StartBound,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const call = new BufferedCall(cancel, limits, resolve, reject)
      call.watchedBy(watch, startBy, bound)
      this.#pool.dispatch(
        { method: 'POST', path: req.path, headers: req.headers, body: req.body, headersTimeout },
        call,
      )
    })
  }

  /** A streamed answer, read by `handler` as it arrives (see StreamCall). */
  stream(req: UpstreamRequest, handler: Dispatcher.DispatchHandler, headersTimeout: number): void {
    this.#pool.dispatch(
      { method: 'POST', path: req.path, headers: req.headers, body: req.body, headersTimeout },
      handler,
    )
  }

  get(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    return this.#pool.request({ method: 'GET', path, headers, signal })
  }

  stats(): PoolStats {
    const s = this.#pool.stats
    return {
      connected: s.connected,
      free: s.free,
      pending: s.pending,
      queued: s.queued,
      running: s.running,
      size: s.size,
    }
  }

  close(): Promise<void> {
    return this.#pool.destroy()
  }
}
