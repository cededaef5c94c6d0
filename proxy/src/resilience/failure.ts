import type { ProviderErrorBody } from '../providers/types.ts'

export type FailureKind =
  | 'status' // the provider answered with an error status
  | 'timeout' // connect, headers or body timeout
  | 'connect' // could not connect (refused, DNS, unreachable)
  | 'reset' // the connection closed under the request
  | 'stream_cut' // the stream ended before its terminator
  | 'stream_error' // the provider sent an error event inside the stream
  | 'bad_response' // a success status with a body the proxy cannot read
  | 'breaker_open' // no attempt made: the provider's breaker is open
  | 'overloaded' // no attempt made: every connection to the provider is busy and its queue is full
  | 'throttled' // no attempt made: the provider answers most calls 429 (a storm)
  | 'aborted' // the client went away
  | 'client_input' // no call made: the client's request holds what this deployment's wire cannot carry
  | 'internal' // the proxy's own fault (a request it could not translate): never the provider's

export interface FailurePolicy {
  /** Status codes worth another attempt (http_client.retry_status_codes). */
  readonly retryStatuses: ReadonlySet<number>
  /** Status codes that count against a provider's breaker (circuit_breaker.count_status_codes). */
  readonly breakerStatuses: ReadonlySet<number>
}

/** One failed attempt against one provider, classified once for retries, breakers and clients. */
export class UpstreamFailure extends Error {
  readonly kind: FailureKind
  readonly status: number | undefined
  readonly retryAfterMs: number | undefined
  readonly providerError: ProviderErrorBody | undefined
  /** Another attempt (same or other provider) may succeed. */
  readonly retryable: boolean
  /** Another provider may succeed where this one cannot (e.g. it rejected our credentials). */
  readonly failover: boolean
  /** Counts against the provider's circuit breaker. */
  readonly countsAsFailure: boolean
  provider: string | undefined
  /** Set by the executor on the failure it gives up with: what the whole request cost. */
  spent: { attempts: number; upstreamMs: number; waitMs: number } | undefined

  constructor(
    kind: FailureKind,
    fields: {
      message: string
      status?: number
      retryAfterMs?: number
      providerError?: ProviderErrorBody
      retryable: boolean
      failover?: boolean
      countsAsFailure: boolean
      cause?: unknown
    },
  ) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.name = 'UpstreamFailure'
    this.kind = kind
    this.status = fields.status
    this.retryAfterMs = fields.retryAfterMs
    this.providerError = fields.providerError
    this.retryable = fields.retryable
    this.failover = fields.failover ?? fields.retryable
    this.countsAsFailure = fields.countsAsFailure
  }
}

export function statusFailure(
  status: number,
  providerError: ProviderErrorBody,
  retryAfterMs: number | undefined,
  policy: FailurePolicy,
): UpstreamFailure {
  // A redirect (or a stray 1xx) is no answer: the proxy follows none (a provider's base URL is
  // configured, not discovered), and passing it on would send the client a 302 blamed on its request.
  if (status < 400) {
    return new UpstreamFailure('bad_response', {
      message: `provider answered ${status} instead of an answer (the proxy follows no redirect): ${providerError.message}`,
      retryable: false,
      failover: true,
      countsAsFailure: true,
    })
  }
  // Anthropic's 529 (overloaded) is its 503: retried, failed over and counted as the policy says of 503.
  const judged = status === 529 ? 503 : status
  const retryable = policy.retryStatuses.has(judged)
  // A provider refusing our key or not knowing the deployment's model is that deployment's
  // problem, and one failing on its side (5xx) may be alone in it: another may serve the request,
  // and the client did nothing wrong.
  const deploymentFault = status === 401 || status === 403 || status === 404 || status >= 500
  return new UpstreamFailure('status', {
    message: `provider answered ${status}: ${providerError.message}`,
    status,
    retryAfterMs,
    providerError,
    retryable,
    failover: retryable || deploymentFault,
    countsAsFailure: policy.breakerStatuses.has(judged),
  })
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
])
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
])
const ABORT_CODES = new Set(['UND_ERR_ABORTED', 'ABORT_ERR'])

/** Classifies an error thrown by the upstream client (undici) or by reading its body. */
export function networkFailure(err: unknown, signal?: { readonly aborted: boolean }): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err
  const e = err as { code?: string; name?: string; message?: string }
  const code = e?.code ?? ''
  const message = e?.message ?? String(err)
  if (signal?.aborted || ABORT_CODES.has(code) || e?.name === 'AbortError') {
    return new UpstreamFailure('aborted', {
      message: 'the client went away',
      retryable: false,
      countsAsFailure: false,
      cause: err,
    })
  }
  if (TIMEOUT_CODES.has(code)) {
    return new UpstreamFailure('timeout', { message, retryable: true, countsAsFailure: true, cause: err })
  }
  if (CONNECT_CODES.has(code)) {
    return new UpstreamFailure('connect', { message, retryable: true, countsAsFailure: true, cause: err })
  }
  return new UpstreamFailure('reset', { message, retryable: true, countsAsFailure: true, cause: err })
}
