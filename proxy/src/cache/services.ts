import type { Clock } from '../clock.ts'
import type { Config } from '../config/load.ts'
import { Condenser } from '../context/condenser.ts'
import { Summarizer } from '../context/summarizer.ts'
import { TokenCounter } from '../context/tokens.ts'
import { ChatUpstream } from '../context/upstream.ts'
import { ProxyError } from '../errors.ts'
import { asProxyError } from '../http/errors.ts'
import type { AttemptContext } from '../providers/attempt.ts'
import { parseChatRequest } from '../providers/chat-request.ts'
import { ModelCatalog } from '../providers/discovery.ts'
import type { ProviderRegistry, Route } from '../providers/registry.ts'
import type { Executor } from '../resilience/executor.ts'
import { compileChatSchema } from '../routes/chat-schema.ts'
import { ChatCache } from './chat-cache.ts'
import type { ConfigCache } from './config-cache.ts'
import { CacheSystem } from './system.ts'
import { CacheWarmer, type Prepared } from './warmer.ts'

/** The caches and everything built on them: discovery, condensation, the cached chat path, warming. */
export interface ChatServices {
  readonly caches: CacheSystem
  readonly catalog: ModelCatalog
  /** Undefined when condensation.enabled is false. */
  readonly condenser: Condenser | undefined
  readonly upstream: ChatUpstream
  /** Undefined when the response cache is off (caching.enabled or caching.response_cache.enabled false). */
  readonly chatCache: ChatCache | undefined
  readonly warmer: CacheWarmer | undefined
  /** Starts the background work (warming, purges of expired entries). */
  start(): void
  close(): Promise<void>
}

export interface ChatServicesDeps {
  readonly clock: Clock
  readonly registry: ProviderRegistry
  readonly executor: Executor
  readonly attempt: AttemptContext
  readonly configCache?: ConfigCache
  readonly instanceId?: string
}

export function createChatServices(config: Config, deps: ChatServicesDeps): ChatServices {
  const { clock, registry, executor, attempt } = deps
  const c = config.caching
  const caches = new CacheSystem(config, {
    clock,
    configCache: deps.configCache,
    instanceId: deps.instanceId,
  })
  const catalog = new ModelCatalog({
    registry,
    cache: caches.models,
    clock,
    timeoutMs: config.http_client.timeout * 1000,
  })
  const windowOf = (route: Route) => route.contextWindow ?? catalog.contextWindow(route)
  const cond = config.condensation
  const condenser = cond.enabled
    ? new Condenser({
        tokens: new TokenCounter({ clock }),
        summarizer: new Summarizer({ registry, executor, attempt }),
        cache: c.enabled && c.summary_cache.enabled ? caches.summaries : undefined,
        settings: { model: cond.model, summaryMaxTokens: cond.summary_max_tokens },
        windowOf: (model) => {
          const route = registry.route(model)
          return route ? windowOf(route) : undefined
        },
      })
    : undefined
  const upstream = new ChatUpstream({
    registry,
    executor,
    attempt,
    auto: condenser && cond.auto ? { condenser, margin: cond.safety_margin, windowOf } : undefined,
  })
  const responseOn = c.enabled && c.response_cache.enabled
  const chatCache = responseOn
    ? new ChatCache({
        response: caches.response,
        tracker: caches.tracker,
        upstream,
        settings: { enabled: true, cacheNonDeterministic: c.response_cache.cache_non_deterministic },
        clock,
        keyMemo: caches.keyMemo,
      })
    : undefined
  const validChat = compileChatSchema()
  const prepare = (body: unknown): Prepared => {
    if (!validChat(body)) throw asProxyError({ validation: validChat.errors })
    const req = parseChatRequest(body, Buffer.from(JSON.stringify(body)))
    const route = registry.route(req.body.model)
    if (!route) throw new ProxyError('model_not_found', { param: 'model' })
    return { key: chatCache!.key(route, req), route, req }
  }
  const warmer = chatCache
    ? new CacheWarmer({
        settings: {
          enabled: c.warming.enabled,
          intervalMs: c.warming.interval * 1000,
          preloadPopular: c.warming.preload_popular,
          threshold: c.warming.preload_threshold,
          maxPerRun: c.warming.max_per_run,
          concurrency: c.warming.concurrency,
        },
        tracker: caches.tracker,
        chat: chatCache,
        prepare,
        clock,
      })
    : undefined
  caches.warmer = warmer
  return {
    caches,
    catalog,
    condenser,
    upstream,
    chatCache,
    warmer,
    start() {
      caches.startCleanup(config.memory.cache_cleanup_interval * 1000)
      warmer?.start()
    },
    close: () => caches.close(),
  }
}
