import { type ErrorCode, ProxyError } from '../errors.ts'
import { ClientInputError } from '../translate/errors.ts'
import type { UpstreamFailure } from './failure.ts'

/**
 * The one place where upstream failures become client errors: timeouts 504, connection
 * failures and provider 5xx 502, unavailable providers 503, provider 4xx passed through in the
 * OpenAI shape. The failure stays attached as `cause` for the logs.
 */
export function toClientError(failure: UpstreamFailure): ProxyError {
  const provider = failure.provider
  const retryAfter = failure.retryAfterMs === undefined ? undefined : retryAfterHeader(failure.retryAfterMs)
  const base = { cause: failure, provider, headers: retryAfter }
  switch (failure.kind) {
    case 'timeout':
      return new ProxyError('upstream_timeout', base)
    case 'connect':
      return new ProxyError('upstream_connect_failed', base)
    case 'reset':
      return new ProxyError('upstream_connection_reset', base)
    case 'stream_cut':
      return new ProxyError('stream_truncated', base)
    case 'bad_response':
      return new ProxyError('upstream_bad_response', base)
    case 'breaker_open':
      return new ProxyError('all_providers_unavailable', base)
    case 'overloaded':
      return new ProxyError('overloaded', base)
    case 'throttled':
      return new ProxyError('rate_limit_exceeded', {
        ...base,
        message: 'The provider is rate limiting requests; retry after the time in Retry-After.',
      })
    case 'aborted':
      return new ProxyError('client_closed_request', base)
    case 'client_input': {
      const param = failure.cause instanceof ClientInputError ? failure.cause.param : null
      return new ProxyError('invalid_request', { ...base, param, message: failure.message })
    }
    case 'internal':
      return new ProxyError('internal_error', base)
    case 'stream_error':
    case 'status':
      return fromStatus(failure, base)
  }
}

function fromStatus(
  failure: UpstreamFailure,
  base: { cause: unknown; provider?: string; headers?: Record<string, string> },
): ProxyError {
  const status = failure.status ?? 502
  const detail = failure.providerError
  const message = detail?.message
  if (status === 429) return new ProxyError('rate_limit_exceeded', { ...base, message })
  if (status === 401 || status === 403) return new ProxyError('upstream_auth_failed', base)
  if (status === 404) return new ProxyError('model_not_found', { ...base, message })
  if (status === 503 || status === 529) return new ProxyError('upstream_unavailable', base)
  if (status === 504) return new ProxyError('upstream_timeout', base)
  if (status >= 500 || failure.kind === 'stream_error') return new ProxyError('upstream_error', base)
  const code: ErrorCode =
    detail?.code === 'context_length_exceeded' ? 'context_length_exceeded' : 'upstream_client_error'
  return new ProxyError(code, { ...base, status, message, param: detail?.param ?? null })
}

export function retryAfterHeader(ms: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) }
}
