/**
 * How many request lines one process writes a second (logging.request_lines_per_second): the log
 * keeps up with any request rate a deployment sees, and a flood (a benchmark's 15,000 cache hits
 * a second, a runaway client) neither makes the log the proxy's largest cost nor fills its disk.
 *
 * A request that went wrong or took a detour (an error status, a retry or failover, a wait for a
 * connection, a cut or abandoned stream) is always written. Within a second, other requests are
 * written while the second's budget lasts; past it they are counted, and the count is written as
 * one line when the second is over, so the lines written and the counts together account for
 * every request. 0 writes every line.
 */
export class LineBudget {
  readonly perSecond: number
  readonly #monotonic: () => number
  readonly #report: (skipped: number) => void
  /** Monotonic ms at which the current second ends. */
  #secondEnds = Number.NEGATIVE_INFINITY
  #written = 0
  #skipped = 0

  /** `report` writes the count of the lines a second left out (never called with 0). */
  constructor(perSecond: number, deps: { monotonic: () => number; report: (skipped: number) => void }) {
    this.perSecond = perSecond
    this.#monotonic = deps.monotonic
    this.#report = deps.report
  }

  /** Whether a request's line is written; `notable` ones always are. */
  admit(notable: boolean): boolean {
    if (this.perSecond === 0) return true
    const now = this.#monotonic()
    if (now >= this.#secondEnds) this.#next(now)
    if (notable || this.#written < this.perSecond) {
      this.#written++
      return true
    }
    this.#skipped++
    return false
  }

  /** Writes the count of a second that is over (called about once a second, and at close). */
  tick(): void {
    const now = this.#monotonic()
    if (now >= this.#secondEnds) this.#next(now)
  }

  /** Writes the count left out so far, the second over or not (the process is closing). */
  flush(): void {
    const skipped = this.#skipped
    this.#skipped = 0
    if (skipped > 0) this.#report(skipped)
  }

  #next(now: number): void {
    this.flush()
    this.#secondEnds = now + 1000
    this.#written = 0
  }
}
