import type { FastifyInstance } from 'fastify'
import { ProxyError } from '../errors.ts'
import type { HealthCheck } from '../observability/sources.ts'
import { routeConfig } from './route-config.ts'

/** How long after the last refusal the instance still reports that it sheds load. */
export const SHED_RECENT_MS = 3000

/**
 * Bounded admission for one process: at most `server.worker_connections` requests in progress
 * at once. One more is answered at once with 503 `overloaded` and a Retry-After, before its body
 * is read, so an overloaded instance answers fast and stays within its memory instead of queueing
 * without end. Health and metrics routes are always admitted (they must report the overload).
 * Each provider's own queue (resilience/limiter.ts) sheds the calls it cannot serve in time.
 */
export class Admission {
  readonly limit: number
  readonly #now: () => number
  #inFlight = 0
  #shed = 0
  #lastShed = Number.NEGATIVE_INFINITY

  constructor(limit: number, now: () => number) {
    this.limit = limit
    this.#now = now
  }

  get inFlight(): number {
    return this.#inFlight
  }

  get shedTotal(): number {
    return this.#shed
  }

  /** A request admitted earlier has ended (the accounting hook calls this when its response closes). */
  leave(): void {
    this.#inFlight--
  }

  register(app: FastifyInstance): void {
    app.addHook('onRequest', (request, _reply, done) => {
      if (routeConfig(request).access === 'public' || !request.record) return done()
      if (this.#inFlight >= this.limit) {
        this.#shed++
        this.#lastShed = this.#now()
        return done(
          new ProxyError('overloaded', {
            message: `The proxy is at its limit of ${this.limit} requests in progress (server.worker_connections); retry later.`,
            headers: { 'retry-after': '1' },
          }),
        )
      }
      this.#inFlight++
      request.record.admitted = true
      done()
    })
  }

  /** At the limit now: unavailable (a load balancer should send traffic elsewhere); shed recently: degraded. */
  health(): HealthCheck {
    const saturated = this.#inFlight >= this.limit
    const recent = this.#now() - this.#lastShed < SHED_RECENT_MS
    return {
      status: saturated ? 'unavailable' : recent ? 'degraded' : 'ok',
      saturated,
      in_flight: this.#inFlight,
      limit: this.limit,
      shed_total: this.#shed,
      shed_recently: recent,
    }
  }
}
