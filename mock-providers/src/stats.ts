import type { ResponsePlan } from './plan.ts'

/** How an answered request ended: fully written, left by the client, or closed by the mock (cut, reset). */
export type Outcome = 'completed' | 'aborted' | 'closed'

export interface StatsSnapshot {
  wire: string
  profile: string
  requests: {
    total: number
    /** route (or 'unknown') -> status code (or 'hang' / 'reset' when no status line is sent) -> count */
    by_route: Record<string, Record<string, number>>
  }
  in_flight: number
  completed: number
  /** Requests whose client went away before the answer was complete (queued, hanging or mid-stream). */
  aborted: number
  /** Connections the mock closed on purpose (cut, reset). */
  closed_by_mock: number
  faults: Record<string, number>
  /** Tokens of the 200 answers dispatched (prompt: the request's; completion: the answer's full length). */
  tokens: { prompt: number; completion: number }
  queue: { depth: number; active: number; overflowed: number }
}

/** Counters of one mock since start or reset. */
export class MockStats {
  #byRoute: Record<string, Record<string, number>> = {}
  #faults: Record<string, number> = {}
  total = 0
  inFlight = 0
  completed = 0
  aborted = 0
  closed = 0
  overflowed = 0
  promptTokens = 0
  completionTokens = 0

  /** A plan leaves the core (or the queue's overflow) and starts running. */
  dispatched(plan: ResponsePlan): void {
    this.total++
    this.inFlight++
    const route = plan.route ?? 'unknown'
    const key = plan.sendHead ? (plan.status === 200 ? '200' : String(plan.status)) : plan.terminal
    let byStatus = this.#byRoute[route]
    if (byStatus === undefined) {
      byStatus = {}
      this.#byRoute[route] = byStatus
    }
    byStatus[key] = (byStatus[key] ?? 0) + 1
    if (plan.fault !== null) this.#faults[plan.fault] = (this.#faults[plan.fault] ?? 0) + 1
    if (plan.status === 200) {
      this.promptTokens += plan.promptTokens
      this.completionTokens += plan.completionTokens
    }
  }

  settled(outcome: Outcome): void {
    this.inFlight--
    if (outcome === 'completed') this.completed++
    else if (outcome === 'aborted') this.aborted++
    else this.closed++
  }

  snapshot(wire: string, profile: string, queue: { depth: number; active: number }): StatsSnapshot {
    const byRoute: Record<string, Record<string, number>> = {}
    for (const [route, statuses] of Object.entries(this.#byRoute)) byRoute[route] = { ...statuses }
    return {
      wire,
      profile,
      requests: { total: this.total, by_route: byRoute },
      in_flight: this.inFlight,
      completed: this.completed,
      aborted: this.aborted,
      closed_by_mock: this.closed,
      faults: { ...this.#faults },
      tokens: { prompt: this.promptTokens, completion: this.completionTokens },
      queue: { depth: queue.depth, active: queue.active, overflowed: this.overflowed },
    }
  }
}
