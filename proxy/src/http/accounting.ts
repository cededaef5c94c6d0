import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { Cancel } from '../cancel.ts'
import type { Clock } from '../clock.ts'
import type { CacheStatus, Observer } from '../observability/observer.ts'
import type { Usage } from '../providers/types.ts'
import type { UpstreamFailure } from '../resilience/failure.ts'
import type { Admission } from './admission.ts'
import { proxyReason } from './in-flight.ts'
import { routeConfig } from './route-config.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's label in logs and metrics (bounded: one per route, not per URL). */
    route?: string
  }
  interface FastifyRequest {
    /** What this request reports when it ends; set on every accounted route. */
    record: RequestRecord
  }
}

/** Who answered a request upstream, how, and what it cost. */
export interface Opening {
  readonly provider: string
  readonly attempts: number
  readonly upstreamMs: number
  readonly waitMs: number
}

/**
 * What one request reports when it ends, filled in by whoever learns it (the route, the cache,
 * the pipeline) and reported once, by the accounting hook, when the response closes: one log
 * line, the request counters and histograms, errors by code. Nobody passes a `finish` around.
 */
export class RequestRecord {
  readonly route: string
  readonly started: number
  model = ''
  provider: string | undefined = undefined
  stream = false
  cache: CacheStatus = 'BYPASS'
  upstreamMs = 0
  waitMs = 0
  attempts = 0
  ttftMs: number | undefined = undefined
  usage: Usage | undefined = undefined
  errorCode: string | undefined = undefined
  /** A stream that ended with an error event after part of the answer had been sent. */
  truncated = false
  /** Counted by the process's admission control (released when the response closes). */
  admitted = false
  /**
   * The cancellation of the request's upstream work, if it has any (its reason says who stopped
   * it): aborted when the client leaves before its answer is complete.
   */
  cancel: Cancel | undefined = undefined

  constructor(route: string, started: number) {
    this.route = route
    this.started = started
  }

  answeredBy(opening: Opening): void {
    this.provider = opening.provider
    this.attempts = opening.attempts
    this.upstreamMs = opening.upstreamMs
    this.waitMs = opening.waitMs
  }

  /** What a failed request cost upstream. */
  failedAt(failure: UpstreamFailure): void {
    this.provider = failure.provider
    if (failure.spent) {
      this.attempts = failure.spent.attempts
      this.upstreamMs = failure.spent.upstreamMs
      this.waitMs = failure.spent.waitMs
    }
  }
}

/**
 * Accounting for every route that declares a label (public routes, health and metrics, are not
 * logged or counted; unknown routes count as `not_found`). Registered first, so that refusals by
 * access control and admission are counted too.
 */
export function registerAccounting(
  app: FastifyInstance,
  deps: { observer: Observer; clock: Clock; admission: Admission },
): void {
  const { observer, clock, admission } = deps
  app.decorateRequest('record', null as unknown as RequestRecord)
  app.addHook('onRequest', (request, reply, done) => {
    const label = request.is404 ? 'not_found' : routeConfig(request).route
    if (label === undefined) return done()
    const record = new RequestRecord(label, clock.monotonic())
    request.record = record
    const res = reply.raw as ServerResponse
    // The one listener a request puts on its response ('close' comes once: no `once` wrapper).
    res.on('close', () => {
      if (record.admitted) admission.leave()
      const finished = res.writableFinished
      const shutdown = record.cancel ? proxyReason(record.cancel) : undefined
      // A response never started: the client left first (499, as nginx counts it).
      const status = res.headersSent ? res.statusCode : 499
      observer.request({
        requestId: request.id,
        route: record.route,
        model: record.model,
        provider: record.provider,
        status,
        stream: record.stream,
        durationMs: clock.monotonic() - record.started,
        upstreamMs: record.upstreamMs,
        waitMs: record.waitMs,
        attempts: record.attempts,
        cache: record.cache,
        ttftMs: record.ttftMs,
        usage: record.usage,
        errorCode: record.errorCode ?? (status === 499 ? 'client_closed_request' : undefined),
        truncated: record.truncated,
        aborted: !finished && shutdown === undefined,
      })
      // A client that leaves before its answer is complete stops the work done for it upstream.
      if (!finished) record.cancel?.abort()
    })
    done()
  })
}
