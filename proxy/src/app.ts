import type { LookupFunction } from 'node:net'
import CacheableLookup from 'cacheable-lookup'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import pino, { type Logger } from 'pino'
import type { ConfigCache } from './cache/config-cache.ts'
import { type ChatServices, createChatServices } from './cache/services.ts'
import { type Clock, type Random, systemClock } from './clock.ts'
import type { Config } from './config/load.ts'
import { registerAccessControl } from './http/access.ts'
import { registerAccounting } from './http/accounting.ts'
import { Admission } from './http/admission.ts'
import { KeyChecker } from './http/auth.ts'
import { registerJsonBody } from './http/body.ts'
import { clientErrorHandler, serverFactory } from './http/client-errors.ts'
import { registerErrorHandling } from './http/errors.ts'
import { InFlight } from './http/in-flight.ts'
import { createRequestIds } from './http/request-id.ts'
import { registerRouteConfig, routeConfig } from './http/route-config.ts'
import { lazyChildLoggerFactory } from './observability/lazy-logger.ts'
import { LineBatch, type Sink } from './observability/log-destination.ts'
import { createLogObserver, requestLineBudget } from './observability/log-observer.ts'
import { combineObservers, type Observer } from './observability/observer.ts'
import { registerObservability } from './observability/register.ts'
import type { CacheMetricsSource, MemoryPressureTarget } from './observability/sources.ts'
import { type MonitoringDeps, Telemetry } from './observability/telemetry.ts'
import { Pipeline } from './pipeline/pipeline.ts'
import { CallWatch } from './providers/call-watch.ts'
import { ProviderRegistry } from './providers/registry.ts'
import { Executor } from './resilience/executor.ts'
import { RetryBudget } from './resilience/retry-budget.ts'
import { registerCacheAdminRoutes } from './routes/cache-admin.ts'
import { registerChatRoute } from './routes/chat.ts'
import { VALIDATION_OPTIONS } from './routes/chat-schema.ts'
import { registerCondenseRoute } from './routes/condense.ts'
import { registerEmbeddingsRoute } from './routes/embeddings.ts'
import { registerMessagesRoute } from './routes/messages.ts'
import { registerModelsRoute } from './routes/models.ts'
import { registerResponsesRoute } from './routes/responses.ts'

export interface AppDeps {
  readonly clock?: Clock
  readonly random?: Random
  /** A pino logger; by default one writing JSON to stdout at the configured level. */
  readonly logger?: Logger
  /** The logger of the one line per request (default: `logger`). */
  readonly requestLogger?: Logger
  readonly observers?: readonly Observer[]
  readonly lookup?: LookupFunction
  /** Caches the memory manager may shrink under pressure (the cache module adds its own). */
  readonly memoryTargets?: readonly MemoryPressureTarget[]
  /** The caches' figures for /metrics and /health (the cache module sets its own). */
  readonly cacheMetrics?: CacheMetricsSource
  /** Test seams of the memory manager and metrics, and a cluster worker's link to its primary. */
  readonly monitoring?: MonitoringDeps
  /** The configuration cache the entry point loaded the config through (reported and shrunk with the others). */
  readonly configCache?: ConfigCache
  /** Names this instance in Redis invalidation messages (default: a random UUID). */
  readonly instanceId?: string
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
  '*.webhook_url',
  '*.routing_key',
  '*.password',
  'req.headers.cookie',
]

/** Log lines wait in memory until this many bytes have gathered, or LOG_FLUSH_MS has passed. */
const LOG_BUFFER_BYTES = 64 * 1024
const LOG_FLUSH_MS = 250

/**
 * The process's loggers: JSON lines on stdout, buffered and written asynchronously: a write
 * leaves when 64 KB of lines have gathered (about 180 request lines: a write of 64 KB costs less
 * than twice one of 12 KB) or a quarter of a second has passed, and everything left is flushed
 * synchronously when the process exits, so the last lines before an exit are never lost.
 * `logger` redacts secrets wherever they appear; `requestLogger` writes the one line per request,
 * whose fields the log observer picks (never a header, a key or a body), so it skips redaction.
 */
export function createLoggers(config: Config): { logger: Logger; requestLogger: Logger } {
  const destination = new LineBatch(
    pino.destination({ dest: 1, sync: false, contentMode: 'buffer' }) as unknown as Sink,
    LOG_BUFFER_BYTES,
  )
  setInterval(() => destination.flush(), LOG_FLUSH_MS).unref()
  process.once('exit', () => destination.flushSync())
  const level = config.logging.level
  return {
    logger: pino({ level, redact: { paths: LOG_REDACT, censor: '[redacted]' } }, destination),
    requestLogger: pino({ level }, destination),
  }
}

/** Builds the proxy: a fastify instance with every route, not yet listening. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock
  const random = deps.random ?? Math.random
  const loggers = deps.logger ? undefined : createLoggers(config)
  const logger = deps.logger ?? (loggers as { logger: Logger }).logger
  const requestLogger = deps.requestLogger ?? loggers?.requestLogger ?? logger

  const app = Fastify({
    // No loggerInstance: with one, fastify puts two listeners of its own on every response (for
    // its request log and onResponse hooks, neither of which the proxy uses). request.log is still
    // this logger's child, bound to the request id (built on first use); fastify's own instance
    // logger is then silent, and the proxy logs what it has to say through `logger` itself.
    childLoggerFactory: (_silent, bindings, options) =>
      lazyChildLoggerFactory(logger as FastifyBaseLogger, bindings, options),
    // One line per request comes from the log observer, with the fields that explain latency.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: Math.floor(config.server.body_limit_mb * 1024 * 1024),
    serverFactory: serverFactory({
      headersTimeoutMs: config.server.headers_timeout * 1000,
      requestTimeoutMs: config.server.request_timeout * 1000,
      keepAliveTimeoutMs: config.server.keep_alive_timeout * 1000,
    }),
    clientErrorHandler,
    return503OnClosing: true,
    // The app is closed once the drain (workers/drain.ts) has let every request end: a connection
    // still open then is cut, not waited for (a client's idle one stays open for as long as
    // server.keep_alive_timeout lets it).
    forceCloseConnections: true,
    ajv: { customOptions: VALIDATION_OPTIONS },
    genReqId: createRequestIds(),
  })

  const observers = [...(deps.observers ?? [])]
  if (config.logging.performance) {
    const perSecond = config.logging.request_lines_per_second
    const budget =
      perSecond > 0 ? requestLineBudget(requestLogger, perSecond, () => clock.monotonic()) : undefined
    if (budget) {
      // The count of a second's lines left out is written when the second is over, traffic or not.
      const ticker = setInterval(() => budget.tick(), 1000).unref()
      app.addHook('onClose', () => {
        clearInterval(ticker)
        budget.flush()
      })
    }
    observers.push(createLogObserver(requestLogger, 'info', { attempts: config.logging.http_client, budget }))
  }
  if (observers.length === 0) observers.push(createLogObserver(requestLogger, 'debug'))
  // Metrics (Prometheus and the JSON /metrics windows); performance.monitoring_enabled: false leaves them out.
  const telemetry = new Telemetry(config, { clock, logger, deps: deps.monitoring })
  if (telemetry.observer) observers.push(telemetry.observer)
  const observer = combineObservers(observers)
  // What the memory manager may shrink and what /metrics reports of the caches: the cache module
  // pushes its caches here and sets `caches.metrics`.
  const memoryTargets: MemoryPressureTarget[] = [...(deps.memoryTargets ?? [])]
  const caches: { metrics: CacheMetricsSource | undefined } = { metrics: deps.cacheMetrics }

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
  registerRouteConfig(app)
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    // An answer refused before the cache (a 400, a 401) is a BYPASS on a route that reports it.
    if (routeConfig(request).cacheStatus) reply.header('x-cache', 'BYPASS')
    done()
  })
  const admission = new Admission(config.server.worker_connections, clock.now)
  // Accounting first, so that refusals by access control and admission are counted too.
  registerAccounting(app, { observer, clock, admission })
  registerAccessControl(app, keys)
  admission.register(app)
  const inFlight = new InFlight()

  registerJsonBody(app, Math.floor(config.server.body_limit_mb * 1024 * 1024))
  registerErrorHandling(app)
  const watch = new CallWatch({ monotonic: clock.monotonic, idleMs: http.read_timeout * 1000 })
  // Caches, model discovery, context condensation and cache warming (proxy/src/cache/services.ts).
  const services = createChatServices(config, {
    clock,
    registry,
    executor,
    attempt: {
      injectUsage: config.streaming.inject_usage,
      now: clock.now,
      monotonic: clock.monotonic,
      requestDeadlineMs: http.request_deadline * 1000,
      headersTimeoutMs: http.timeout * 1000,
      firstTokenTimeoutMs: (http.first_token_timeout ?? Number.POSITIVE_INFINITY) * 1000,
      maxResponseBytes: Math.floor(http.max_response_mb * 1024 * 1024),
      maxEventBytes: Math.floor(config.streaming.max_event_kb * 1024),
      watch,
      policy: {
        retryStatuses: new Set(http.retry_status_codes),
        breakerStatuses: new Set(config.circuit_breaker.count_status_codes),
      },
    },
    configCache: deps.configCache,
    instanceId: deps.instanceId,
  })
  memoryTargets.push(...services.caches.targets())
  caches.metrics ??= services.caches
  const pipeline = new Pipeline({
    registry,
    upstream: services.upstream,
    cache: services.chatCache,
    clock,
    inFlight,
    pingMs: config.streaming.ping_interval * 1000,
  })
  registerChatRoute(app, pipeline)
  registerEmbeddingsRoute(app, pipeline)
  registerMessagesRoute(app, pipeline)
  registerResponsesRoute(app, pipeline)
  registerModelsRoute(app, services.catalog)
  if (services.condenser) {
    registerCondenseRoute(app, {
      registry,
      condenser: services.condenser,
      windowOf: (route) => route.contextWindow ?? services.catalog.contextWindow(route),
      margin: config.condensation.safety_margin,
    })
  }
  registerCacheAdminRoutes(app, {
    caches: services.caches,
    chatCache: services.chatCache,
    warmer: services.warmer,
  })
  services.start()
  registerObservability(app, telemetry, {
    registry,
    admission,
    clock,
    memoryTargets,
    cache: () => caches.metrics,
  })

  app.decorate('registry', registry)
  app.decorate('inFlight', inFlight)
  app.decorate('services', services)
  app.addHook('onClose', () => services.close())
  app.addHook('onClose', () => registry.close())
  app.addHook('onClose', () => watch.close())
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
    services: ChatServices
    inFlight: InFlight
  }
}
