import type { ProxyError } from '../errors.ts'
import { sseData } from '../providers/sse.ts'
import { sseEvent } from '../translate/sse-event.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The API the route speaks: its error shape (the error handler uses it). */
    wire?: ClientWire
  }
}

/**
 * What differs between the APIs clients speak to the proxy (OpenAI chat completions and
 * Responses, Anthropic Messages, embeddings) once the pipeline has an answer or an error: how an
 * error looks, and how a stream says it failed. Everything else is the pipeline's.
 */
export interface ClientWire {
  /** The label of the route in logs and metrics. */
  readonly route: string
  /** The error body in this API's shape (the stable code always included). */
  errorBody(error: ProxyError): unknown
  /** The last event of a stream that failed after it started. */
  errorEvent(error: ProxyError): Buffer
}

/** OpenAI's APIs: `{error: {message, type, code, param}}`, and the same object as a last `data:` event. */
export function openAIWire(route: string): ClientWire {
  return {
    route,
    errorBody: (error) => error.toJSON(),
    errorEvent: (error) => sseData(JSON.stringify(error.toJSON())),
  }
}

/** OpenAI's Responses API: errors as in chat; a stream fails with its typed `error` event. */
export function responsesWire(route: string): ClientWire {
  return {
    route,
    errorBody: (error) => error.toJSON(),
    errorEvent: (error) =>
      sseEvent({
        type: 'error',
        code: error.code,
        message: error.message,
        param: error.param,
        sequence_number: 0,
      }),
  }
}

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
}

/**
 * Anthropic's Messages API: `{type: 'error', error: {type, message}}` (its SDK reads the type), the
 * proxy's stable code beside them; a stream fails with an `error` event of the same body.
 */
export function anthropicWire(route: string): ClientWire {
  const body = (error: ProxyError) => ({
    type: 'error' as const,
    error: {
      type: ANTHROPIC_TYPES[error.status] ?? (error.status >= 500 ? 'api_error' : 'invalid_request_error'),
      message: error.message,
      code: error.code,
      ...(error.param ? { param: error.param } : {}),
    },
  })
  return { route, errorBody: body, errorEvent: (error) => sseEvent(body(error)) }
}
