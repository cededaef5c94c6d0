import type { LookupFunction } from 'node:net'
import type { Clock, Random } from '../clock.ts'
import type { Config, DeepReadonly } from '../config/load.ts'
import type { ProviderConfig } from '../config/schema.ts'
import { providerSecrets, SecretMask } from '../config/secret-mask.ts'
import { type BreakerSettings, ProviderBreaker } from '../resilience/breaker.ts'
import { type LimiterSettings, ProviderLimiter } from '../resilience/limiter.ts'
import { createAnthropicAdapter } from './anthropic.ts'
import { createOpenAIAdapter } from './openai.ts'
import type { Dialect, WireAdapter } from './types.ts'
import { poolOptions, Upstream } from './upstream.ts'

export interface ProviderRuntime {
  readonly name: string
  readonly config: DeepReadonly<ProviderConfig>
  readonly adapter: WireAdapter
  /** Masks the provider's credentials in what it says (its error messages quote them). */
  readonly mask: SecretMask
  readonly upstream: Upstream
  readonly breaker: ProviderBreaker
  /** Admission of calls: concurrency (adaptive under 429s), the queue, refusals when overloaded. */
  readonly limiter: ProviderLimiter
  lastError: { at: string; kind: string; status?: number; message: string } | undefined
}

export interface Deployment {
  readonly provider: ProviderRuntime
  /** The model name the provider knows. */
  readonly model: string
  readonly weight: number
}

export interface Route {
  readonly name: string
  readonly kind: 'chat' | 'embedding'
  readonly strategy: 'priority' | 'weighted'
  readonly deployments: readonly Deployment[]
  readonly contextWindow: number | undefined
}

export function breakerSettings(config: Config): BreakerSettings {
  const cb = config.circuit_breaker
  const adaptive = config.performance.circuit_breaker
  const adaptiveOn = cb.adaptive_thresholds && adaptive.enable_adaptive_thresholds
  return {
    enabled: cb.enabled,
    failureThreshold: cb.failure_threshold,
    errorThresholdPercentage: cb.error_threshold_percentage,
    windowMs: adaptive.failure_rate_window * 1000,
    recoveryTimeoutMs: cb.recovery_timeout * 1000,
    maxRecoveryTimeoutMs: Math.max(cb.max_recovery_timeout, cb.recovery_timeout) * 1000,
    halfOpenMaxCalls: cb.half_open_max_calls,
    recoverySuccessThreshold: adaptiveOn ? adaptive.recovery_success_threshold : 1,
    dynamicRecoveryTimeout: cb.dynamic_recovery_timeout,
  }
}

export function limiterSettings(config: Config): LimiterSettings {
  const http = config.http_client
  const a = http.admission
  return {
    maxConcurrency: http.pool_limits.max_connections,
    minConcurrency: Math.min(a.min_concurrency, http.pool_limits.max_connections),
    queueSize: a.queue_size,
    queueTimeoutMs: a.queue_timeout * 1000,
    adaptive: a.adaptive,
    throttleRatio: a.throttle_ratio,
    windowMs: a.window * 1000,
    retryAfterMaxMs: http.retry_after_max * 1000,
  }
}

/**
 * The adapter with its error bodies' messages masked: every failure, log line, health figure and
 * client error built from a provider's error answer starts from them.
 */
function maskedErrors(adapter: WireAdapter, mask: SecretMask): WireAdapter {
  const errorBody = adapter.errorBody
  return {
    ...adapter,
    errorBody: (status, body) => {
      const error = errorBody(status, body)
      return { ...error, message: mask.mask(error.message) }
    },
  }
}

/** Providers (one pool, one breaker and one limiter each) and the routes from model names to deployments. */
export class ProviderRegistry {
  readonly providers = new Map<string, ProviderRuntime>()
  readonly #routes = new Map<string, Route>()
  readonly #random: Random

  constructor(config: Config, deps: { clock: Clock; random: Random; lookup?: LookupFunction }) {
    this.#random = deps.random
    const pool = poolOptions(config, deps.lookup)
    const breaker = breakerSettings(config)
    const limits = limiterSettings(config)
    for (const p of config.providers) {
      const mask = new SecretMask(providerSecrets(p))
      const adapter = maskedErrors(
        p.wire === 'anthropic'
          ? createAnthropicAdapter(p, deps.clock.now)
          : createOpenAIAdapter(p, deps.clock.now),
        mask,
      )
      this.providers.set(p.name, {
        name: p.name,
        config: p,
        adapter,
        mask,
        upstream: new Upstream(p.base_url, pool),
        breaker: new ProviderBreaker(p.name, breaker, deps.clock),
        limiter: new ProviderLimiter(limits, deps.clock),
        lastError: undefined,
      })
    }
    for (const [name, r] of Object.entries(config.models)) {
      const route: Route = {
        name,
        kind: r.kind,
        strategy: r.strategy,
        contextWindow: r.context_window,
        deployments: r.deployments.map((d) => ({
          provider: this.providers.get(d.provider)!,
          model: d.model ?? name,
          weight: d.weight,
        })),
      }
      this.#routes.set(name, route)
      for (const alias of r.aliases) this.#routes.set(alias, route)
    }
  }

  route(model: string): Route | undefined {
    return this.#routes.get(model)
  }

  /** The client APIs a route serves: by its kind, through the deployments whose wire offers them. */
  dialects(route: Route): Dialect[] {
    const wanted: readonly Dialect[] =
      route.kind === 'embedding' ? ['embeddings'] : ['chat', 'messages', 'responses']
    return wanted.filter((dialect) =>
      route.deployments.some((d) => d.provider.adapter.dialects[dialect] !== undefined),
    )
  }

  /** Model names clients can use (aliases included), each with the route it resolves to. */
  routes(): IterableIterator<[string, Route]> {
    return this.#routes.entries()
  }

  /** The order in which a request tries the route's deployments. */
  order(route: Route): readonly Deployment[] {
    if (route.strategy === 'priority' || route.deployments.length < 2) return route.deployments
    // Weighted: draw without replacement, each draw proportional to the remaining weights.
    const remaining = route.deployments.slice()
    const ordered: Deployment[] = []
    while (remaining.length > 0) {
      let total = 0
      for (const d of remaining) total += d.weight
      let pick = this.#random() * total
      let i = 0
      while (i < remaining.length - 1 && pick >= remaining[i].weight) pick -= remaining[i++].weight
      ordered.push(remaining[i])
      remaining.splice(i, 1)
    }
    return ordered
  }

  async close(): Promise<void> {
    for (const p of this.providers.values()) p.breaker.shutdown()
    await Promise.all([...this.providers.values()].map((p) => p.upstream.close()))
  }
}
