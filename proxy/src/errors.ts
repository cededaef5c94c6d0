// The proxy's error catalogue: every error a client can receive, with a stable code, an HTTP
// status and an OpenAI error type. Documented in proxy/ERRORS.md (a test keeps the two in step).

export interface ErrorSpec {
  readonly status: number
  readonly type: string
  readonly message: string
}

const spec = (status: number, type: string, message: string): ErrorSpec => ({ status, type, message })

export const ERRORS = {
  invalid_json: spec(400, 'invalid_request_error', 'The request body is not valid JSON.'),
  invalid_request: spec(400, 'invalid_request_error', 'The request is invalid.'),
  unsupported_media_type: spec(415, 'invalid_request_error', 'The request body must be application/json.'),
  request_too_large: spec(413, 'invalid_request_error', 'The request body is too large.'),
  request_header_too_large: spec(431, 'invalid_request_error', 'The request headers are too large.'),
  request_timeout: spec(
    408,
    'invalid_request_error',
    'The request did not arrive in time (server.request_timeout).',
  ),
  missing_api_key: spec(401, 'invalid_request_error', 'Missing API key: send Authorization: Bearer <key>.'),
  invalid_api_key: spec(401, 'invalid_request_error', 'Incorrect API key provided.'),
  admin_key_required: spec(403, 'permission_error', 'This route needs an admin key.'),
  not_found: spec(404, 'invalid_request_error', 'Unknown route.'),
  model_not_found: spec(
    404,
    'invalid_request_error',
    'The model does not exist or is not routed by this proxy.',
  ),
  context_length_exceeded: spec(
    400,
    'invalid_request_error',
    "The conversation exceeds the model's context window.",
  ),
  rate_limit_exceeded: spec(429, 'rate_limit_error', 'The provider is rate limiting requests.'),
  upstream_client_error: spec(400, 'invalid_request_error', 'The provider rejected the request.'),
  upstream_auth_failed: spec(502, 'upstream_error', "The provider rejected the proxy's credentials."),
  upstream_error: spec(502, 'upstream_error', 'The provider answered with an error.'),
  upstream_bad_response: spec(502, 'upstream_error', 'The provider sent a response the proxy cannot read.'),
  upstream_connect_failed: spec(502, 'upstream_error', 'The proxy could not connect to the provider.'),
  upstream_connection_reset: spec(502, 'upstream_error', 'The provider closed the connection.'),
  upstream_unavailable: spec(503, 'upstream_error', 'The provider is unavailable.'),
  all_providers_unavailable: spec(503, 'upstream_error', 'Every provider for this model is unavailable.'),
  upstream_timeout: spec(504, 'upstream_error', 'The provider did not answer in time.'),
  stream_truncated: spec(502, 'upstream_error', 'The provider ended the stream before it was complete.'),
  condensation_failed: spec(502, 'upstream_error', 'The conversation could not be condensed.'),
  cache_disabled: spec(409, 'invalid_request_error', 'The response cache is disabled in the configuration.'),
  shutting_down: spec(503, 'server_error', 'The proxy is shutting down.'),
  overloaded: spec(503, 'server_error', 'The proxy is overloaded.'),
  profile_in_progress: spec(409, 'invalid_request_error', 'A CPU profile is already being taken.'),
  internal_error: spec(500, 'server_error', 'Internal error.'),
  client_closed_request: spec(
    499,
    'invalid_request_error',
    'The client closed the request before the answer was ready.',
  ),
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

export interface ProxyErrorOptions {
  message?: string
  status?: number
  param?: string | null
  headers?: Record<string, string>
  cause?: unknown
  /** The provider (deployment) involved, for logs and metrics; never sent to the client. */
  provider?: string
}

export class ProxyError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly type: string
  readonly param: string | null
  readonly headers: Record<string, string> | undefined
  readonly provider: string | undefined

  constructor(code: ErrorCode, options: ProxyErrorOptions = {}) {
    const base = ERRORS[code]
    super(options.message ?? base.message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ProxyError'
    this.code = code
    this.status = options.status ?? base.status
    this.type = base.type
    this.param = options.param ?? null
    this.headers = options.headers
    this.provider = options.provider
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } }
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: string | null }
}

export function isProxyError(err: unknown): err is ProxyError {
  return err instanceof ProxyError
}
