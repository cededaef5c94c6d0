/**
 * The errors a mock answers with, in one transport-neutral shape; each wire renders it in its
 * provider's body (OpenAI: {error:{message,type,param,code}}; Anthropic: {type:'error',error:{type,message}}).
 */
export const MOCK_ERROR: unique symbol = Symbol('MockError')

export interface MockError {
  readonly [MOCK_ERROR]: true
  status: number
  message: string
  /** OpenAI's `param` (the offending request field), null when none. */
  param: string | null
  /** OpenAI's `code` (e.g. model_not_found, context_length_exceeded), null when none. */
  code: string | null
  /** Extra response headers (Retry-After on 429s). */
  headers?: Readonly<Record<string, string>>
}

export function isMockError(value: unknown): value is MockError {
  return typeof value === 'object' && value !== null && MOCK_ERROR in value
}

/** Default messages by status, worded after the real APIs. */
const STATUS_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Bad request.',
  401: 'Incorrect API key provided.',
  403: 'You are not allowed to access this resource.',
  404: 'Not found.',
  408: 'Request timed out.',
  409: 'Conflict.',
  413: 'Request too large.',
  422: 'Unprocessable entity.',
  429: 'Rate limit reached for requests. Please try again later.',
  500: 'The server had an error while processing your request. Sorry about that!',
  502: 'Bad gateway.',
  503: 'The server is overloaded or not ready yet.',
  504: 'Gateway timeout.',
  529: 'Overloaded.',
}

export function statusMessage(status: number): string {
  return (
    STATUS_MESSAGES[status] ??
    (status >= 500 ? `Server error ${status}.` : `Request failed with status ${status}.`)
  )
}

export function mockError(
  status: number,
  message: string = statusMessage(status),
  param: string | null = null,
  code: string | null = null,
): MockError {
  return { [MOCK_ERROR]: true, status, message, param, code }
}

/** OpenAI's `error.type` for a status. */
export function openaiErrorType(status: number): string {
  if (status === 429) return 'requests'
  if (status === 403) return 'permission_error'
  return status >= 500 ? 'server_error' : 'invalid_request_error'
}

const ANTHROPIC_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
}

/** Anthropic's `error.type` for a status. */
export function anthropicErrorType(status: number): string {
  return ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
}

/** 429 with Retry-After in whole seconds (rounded up) and retry-after-ms, as OpenAI sends both. */
export function rateLimitError(retryAfterMs: number, message?: string): MockError {
  const error = mockError(429, message, null, 'rate_limit_exceeded')
  error.headers = {
    'retry-after': String(Math.ceil(retryAfterMs / 1000)),
    'retry-after-ms': String(Math.round(retryAfterMs)),
  }
  return error
}
