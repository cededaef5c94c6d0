import type { ProxyError } from '../errors.ts'
import { sseData } from '../providers/sse.ts'

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
