import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { LookupFunction } from 'node:net'
import CacheableLookup from 'cacheable-lookup'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { type Clock, type Random, systemClock } from './clock.ts'
import type { Config } from './config/load.ts'
import { KeyChecker } from './http/auth.ts'
import { registerJsonBody } from './http/body.ts'
import { registerErrorHandling } from './http/errors.ts'
import { createLogObserver } from './observability/log-observer.ts'
import { combineObservers, type Observer } from './observability/observer.ts'
import { ProviderRegistry } from './providers/registry.ts'
import { Executor } from './resilience/executor.ts'
import { RetryBudget } from './resilience/retry-budget.ts'
import { registerChatRoute } from './routes/chat.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerModelsRoute } from './routes/models.ts'

export interface AppDeps {
  readonly clock?: Clock
  readonly random?: Random
  /** A pino logger; by default one writing JSON to stdout at the configured level. */
  readonly logger?: Logger
  readonly observers?: readonly Observer[]
  readonly lookup?: LookupFunction
}

/** Paths of secrets pino must never print, whatever object they turn up in. */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.api_key',
  '*.api_keys',
  '*.admin_keys',
]

const REQUEST_ID = /^[\w.:-]{1,128}$/

export function createLogger(config: Config): Logger {
  return pino({ level: config.logging.level, redact: { paths: LOG_REDACT, censor: '[redacted]' } })
}

/** Builds the proxy: a fastify instance with every route, not yet listening. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock
  const random = deps.random ?? Math.random
  const logger = deps.logger ?? createLogger(config)

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: Math.floor(config.server.body_limit_mb * 1024 * 1024),
    keepAliveTimeout: config.server.keep_alive_timeout * 1000,
    return503OnClosing: true,
    genReqId: (req: IncomingMessage) => {
      const incoming = req.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
  })

  const observers = [...(deps.observers ?? [])]
  if (config.logging.performance) observers.push(createLogObserver(logger))
  const observer = combineObservers(observers.length ? observers : [createLogObserver(logger, 'debug')])

  const lookup = deps.lookup ?? dnsCache(config.performance.http_client.dns_cache_ttl)
  const registry = new ProviderRegistry(config, { clock, random, lookup })
  for (const p of registry.providers.values())
    p.breaker.on('state', (state) => observer.breaker(p.name, state))

  const http = config.http_client
  const executor = new Executor(
    {
      attempts: http.retry_attempts,
      backoffFactorSeconds: http.retry_backoff_factor,
      maxBackoffSeconds: http.retry_max_backoff,
      retryAfterMaxMs: http.retry_after_max * 1000,
    },
    {
      clock,
      random,
      budget: new RetryBudget(
        {
          ratio: http.retry_budget.ratio,
          minRetriesPerSecond: http.retry_budget.min_retries_per_second,
          windowSeconds: http.retry_budget.window,
        },
        clock,
      ),
      onAttempt: (event) => observer.attempt(event),
    },
  )

  const keys = new KeyChecker(config.auth.api_keys, config.auth.admin_keys)
  if (!keys.clientAuthEnabled)
    logger.warn('auth.api_keys is empty: client routes accept requests without a key')
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    if (request.url.startsWith('/v1/')) {
      try {
        keys.checkClient(request)
      } catch (err) {
        return done(err as Error)
      }
    }
    done()
  })

  registerJsonBody(app, Math.floor(config.server.body_limit_mb * 1024 * 1024))
  registerErrorHandling(app)
  registerChatRoute(app, {
    registry,
    executor,
    clock,
    observer,
    pingMs: config.streaming.ping_interval * 1000,
    attempt: {
      injectUsage: config.streaming.inject_usage,
      now: clock.now,
      policy: {
        retryStatuses: new Set(http.retry_status_codes),
        breakerStatuses: new Set(config.circuit_breaker.count_status_codes),
      },
    },
  })
  registerModelsRoute(app, registry, Math.floor(clock.now() / 1000))
  registerHealthRoutes(app, registry)

  app.decorate('registry', registry)
  app.addHook('onClose', () => registry.close())
  return app
}

function dnsCache(ttlSeconds: number): LookupFunction | undefined {
  if (ttlSeconds <= 0) return undefined
  const cache = new CacheableLookup({ maxTtl: ttlSeconds })
  return ((hostname, options, callback) =>
    cache.lookup(hostname, options as never, callback as never)) as LookupFunction
}

declare module 'fastify' {
  interface FastifyInstance {
    registry: ProviderRegistry
  }
}
