import type { Logger } from 'pino'
import type { Observer, RequestOutcome } from './observer.ts'
import { REQUEST_COMPLETED, requestLineWriter, roundMs as round } from './request-line.ts'

/** One log line per request with the fields that explain its latency; no bodies, no keys. */
export function createLogObserver(
  logger: Logger,
  level: 'info' | 'debug' = 'info',
  options: { attempts?: boolean } = {},
): Observer {
  const attempts = options.attempts === true
  const writeLine = requestLineWriter(logger, level)
  return {
    request(o) {
      if (!logger.isLevelEnabled(level)) return
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
