import type { Usage } from '../providers/types.ts'
import type { BreakerState } from '../resilience/breaker.ts'
import type { AttemptEvent } from '../resilience/executor.ts'

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS'

/** What the proxy learned about one client request, reported once when it ends. */
export interface RequestOutcome {
  readonly requestId: string
  readonly route: string
  readonly model: string
  readonly provider: string | undefined
  readonly status: number
  readonly stream: boolean
  readonly durationMs: number
  readonly upstreamMs: number
  readonly waitMs: number
  readonly attempts: number
  readonly cache: CacheStatus
  /** Time to the first content event sent to the client (streams). */
  readonly ttftMs: number | undefined
  readonly usage: Usage | undefined
  readonly errorCode: string | undefined
  /** A stream that ended with an error event after content had been sent. */
  readonly truncated: boolean
  /** The client went away before the answer was complete. */
  readonly aborted: boolean
}

/** Receives the proxy's events; metrics, logs and alerting implement it. */
export interface Observer {
  request(outcome: RequestOutcome): void
  attempt(event: AttemptEvent): void
  breaker(provider: string, state: BreakerState): void
}

export const noopObserver: Observer = {
  request() {},
  attempt() {},
  breaker() {},
}

/** Fans events out to several observers. */
export function combineObservers(observers: readonly Observer[]): Observer {
  if (observers.length === 1) return observers[0]
  return {
    request: (o) => {
      for (const x of observers) x.request(o)
    },
    attempt: (e) => {
      for (const x of observers) x.attempt(e)
    },
    breaker: (p, s) => {
      for (const x of observers) x.breaker(p, s)
    },
  }
}
