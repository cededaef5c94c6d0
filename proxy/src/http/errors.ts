import type { FastifyError, FastifyInstance } from 'fastify'
import { ProxyError } from '../errors.ts'
import { UpstreamFailure } from '../resilience/failure.ts'
import { toClientError } from '../resilience/map-error.ts'
import { paramOf } from '../routes/chat-schema.ts'
import { routeConfig } from './route-config.ts'
import { endAfterRefusal } from './unread-body.ts'

const FASTIFY_CODES: Record<string, ConstructorParameters<typeof ProxyError>[0]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
}

export function asProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err
  if (err instanceof UpstreamFailure) return toClientError(err)
  const e = err as FastifyError
  const invalid = e?.validation?.[0]
  if (invalid) {
    const missing = (invalid.params as { missingProperty?: string } | undefined)?.missingProperty
    const param = paramOf(invalid.instancePath, missing)
    return new ProxyError('invalid_request', {
      param,
      message: param
        ? `Invalid '${param}': ${invalid.message}.`
        : `Invalid request body: ${invalid.message}.`,
      cause: err,
    })
  }
  const mapped = e?.code ? FASTIFY_CODES[e.code] : undefined
  if (mapped) return new ProxyError(mapped, { cause: err })
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ProxyError('invalid_request', { status: e.statusCode, message: e.message, cause: err })
  }
  return new ProxyError('internal_error', { cause: err })
}

/** Every error leaves in the OpenAI shape with a stable code, and the request id. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const error = asProxyError(err)
    if (request.record) request.record.errorCode = error.code
    if (error.status >= 500) {
      request.log.warn(
        { code: error.code, provider: error.provider, cause: describeCause(error.cause) },
        error.message,
      )
    }
    if (error.headers) reply.headers(error.headers)
    endAfterRefusal(request.raw, reply.raw)
    const wire = routeConfig(request).wire
    reply
      .code(error.status)
      .header('x-request-id', request.id)
      .send(wire ? wire.errorBody(error) : error.toJSON())
  })
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    const error = new ProxyError('not_found', { message: `Unknown route: ${request.method} ${path}` })
    if (request.record) request.record.errorCode = error.code
    endAfterRefusal(request.raw, reply.raw)
    reply.code(404).header('x-request-id', request.id).send(error.toJSON())
  })
}

function describeCause(cause: unknown): string | undefined {
  if (cause === undefined) return undefined
  const e = cause as Error & { cause?: unknown }
  const inner = e.cause as { code?: string; message?: string } | undefined
  return inner?.message ? `${e.message} (${inner.code ?? inner.message})` : e.message
}
