import type { FastifyInstance } from 'fastify'
import type { KeyChecker } from './auth.ts'
import { routeConfig } from './route-config.ts'

/**
 * Who may call a route, declared where the route is registered (`config: { access }`):
 *   public  no key (health probes, metrics scrapes)
 *   client  a client or admin key (the default: a route nobody marked is never open)
 *   admin   an admin key
 * The check reads the route that matched, never the URL: percent-encoded paths and absolute-form
 * request targets reach the same route and so meet the same check.
 */
export type Access = 'public' | 'client' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
    /** The route's answers carry x-cache (HIT, MISS, or BYPASS when refused before the cache). */
    cacheStatus?: boolean
  }
  interface FastifyInstance {
    /** Every registered route with its access level (HEAD routes included). */
    accessTable: RouteAccess[]
  }
}

export interface RouteAccess {
  readonly method: string
  readonly url: string
  readonly access: Access
}

/** Must run before any route is registered, so that every route is in the table. */
export function registerAccessControl(app: FastifyInstance, keys: KeyChecker): void {
  const table: RouteAccess[] = []
  app.decorate('accessTable', table)
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: Access } | undefined)?.access ?? 'client'
    for (const method of [route.method].flat()) table.push({ method, url: route.url, access })
  })
  app.addHook('onRequest', (request, _reply, done) => {
    // An unknown route answers 404 whoever asks: nothing is served there.
    if (request.is404) return done()
    try {
      const access = routeConfig(request).access ?? 'client'
      if (access === 'client') keys.checkClient(request)
      else if (access === 'admin') keys.checkAdmin(request)
    } catch (err) {
      return done(err as Error)
    }
    done()
  })
}

export const PUBLIC = { config: { access: 'public' as Access } }
/** An admin route, counted under `label` in logs and metrics. */
export const admin = (label: string) => ({ config: { access: 'admin' as Access, route: label } })
