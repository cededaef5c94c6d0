import type { Logger } from 'pino'
import { LineBudget } from './line-budget.ts'
import type { Observer, RequestOutcome } from './observer.ts'
import { REQUEST_COMPLETED, requestLineWriter, roundMs as round } from './request-line.ts'

export const REQUESTS_NOT_LOGGED = 'requests not logged'

/**
 * One log line per request with the fields that explain its latency; no bodies, no keys. With a
 * `budget`, the lines of a flood of plain requests are counted instead (see LineBudget).
 */
export function createLogObserver(
  logger: Logger,
  level: 'info' | 'debug' = 'info',
  options: { attempts?: boolean; budget?: LineBudget } = {},
): Observer {
  const attempts = options.attempts === true
  const budget = options.budget
  const writeLine = requestLineWriter(logger, level)
  return {
    request(o) {
      if (!logger.isLevelEnabled(level)) return
      if (budget !== undefined && !budget.admit(notable(o))) return
      if (writeLine) return writeLine(o)
      logger[level](requestFields(o), REQUEST_COMPLETED)
    },
    // logging.http_client: every call to a provider, retries and failovers included.
    attempt(e) {
      if (!attempts || !logger.isLevelEnabled('debug')) return
      logger.debug(
        { provider: e.provider, outcome: e.outcome, status: e.status, ms: round(e.durationMs) },
        'upstream attempt',
      )
    },
    breaker(provider, state) {
      logger.warn({ provider, state }, `circuit breaker ${state}`)
    },
  }
}

/**
 * logging.request_lines_per_second for `logger`'s request lines: the count of the lines a second
 * left out is written as one line, `{"requests":N,"limit":L,"msg":"requests not logged"}`.
 */
export function requestLineBudget(logger: Logger, perSecond: number, monotonic: () => number): LineBudget {
  return new LineBudget(perSecond, {
    monotonic,
    report: (requests) => logger.info({ requests, limit: perSecond }, REQUESTS_NOT_LOGGED),
  })
}

/** A request whose line is always written: it went wrong, or took a detour worth reading about. */
export function notable(o: RequestOutcome): boolean {
  return (
    o.status >= 400 || o.errorCode !== undefined || o.attempts > 1 || o.waitMs > 0 || o.truncated || o.aborted
  )
}

/** The request line's fields, in order (undefined ones are left out of the line). */
export function requestFields(o: RequestOutcome): Record<string, unknown> {
  return {
    reqId: o.requestId,
    route: o.route,
    model: o.model,
    provider: o.provider,
    status: o.status,
    stream: o.stream,
    ms: round(o.durationMs),
    upstream_ms: round(o.upstreamMs),
    wait_ms: o.waitMs > 0 ? round(o.waitMs) : undefined,
    ttft_ms: o.ttftMs === undefined ? undefined : round(o.ttftMs),
    attempts: o.attempts,
    cache: o.cache,
    tokens: o.usage ? o.usage.total_tokens : undefined,
    error: o.errorCode,
    truncated: o.truncated || undefined,
    aborted: o.aborted || undefined,
  }
}
