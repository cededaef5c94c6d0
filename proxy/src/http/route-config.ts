import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** The matched route's config, once read (see routeConfig). */
    matchedConfig: FastifyContextConfig | null
  }
}

/** Declares the field on every request, so that all requests keep one shape. */
export function registerRouteConfig(app: FastifyInstance): void {
  app.decorateRequest('matchedConfig', null)
}

/**
 * The config of the route a request matched (its label, access level, wire). fastify's
 * `request.routeOptions` builds a new object of a dozen fields on every read, and a request's
 * hooks and error handler read the config several times: it is read once and kept.
 */
export function routeConfig(request: FastifyRequest): FastifyContextConfig {
  request.matchedConfig ??= request.routeOptions.config
  return request.matchedConfig
}
