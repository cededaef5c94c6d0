import { Counter, collectDefaultMetrics, Registry } from 'prom-client'
import type { BreakerState } from '../resilience/breaker.ts'
import type { AttemptEvent } from '../resilience/executor.ts'
import { FastHistogram, type HistogramChild } from './fast-histogram.ts'
import type { Observer, RequestOutcome } from './observer.ts'
import { requestFailed } from './request-stats.ts'

// The Prometheus side of the proxy's metrics. Histograms, never summaries: buckets add up across
// workers, quantiles do not. The hot path (request, attempt) looks its label children up in maps
// built once per label combination, so an observation allocates nothing after warm-up. Histograms
// are FastHistograms (same exposition, a typed-array add per observation). Label
// values are bounded: models come from the routing table (anything else is 'other'), providers
// from the config, statuses are HTTP codes, routes are capped. Counter increments are kept as
// plain numbers and handed to prom-client when it collects (a scrape): its inc() costs about
// 0.4 us, a number increment nothing; histograms are observed directly.

type CounterChild = Counter.Internal

const OTHER = 'other'
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]
const MAX_ROUTES = 16
const CACHE_RESULTS = ['HIT', 'MISS', 'BYPASS'] as const

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
const TTFT_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]

/** A counter's pending increments, flushed into prom-client at the next collection. */
class Tally {
  n = 0
  readonly child: CounterChild
  constructor(child: CounterChild) {
    this.child = child
  }
}

interface Series {
  readonly route: string
  readonly model: string
  readonly provider: string
  readonly byStatus: Map<number, Tally>
  readonly errors: Map<string, Tally>
  readonly failures: Tally
  readonly duration: readonly [HistogramChild, HistogramChild]
  readonly overhead: readonly [HistogramChild, HistogramChild]
  readonly cache: Record<string, Tally>
  readonly ttft: HistogramChild
  readonly promptTokens: Tally
  readonly completionTokens: Tally
}

interface ProviderSeries {
  readonly duration: HistogramChild
  readonly outcomes: Map<string, Tally>
}

export interface MetricLabels {
  /** Every model name clients may use (aliases included) -> the label to report it under. */
  readonly models: ReadonlyMap<string, string>
  readonly providers: readonly string[]
}

/** The metrics the proxy records as it serves; scrape-time gauges are added by `collectors.ts`. */
export class PromMetrics implements Observer {
  readonly registry: Registry
  readonly #labels: MetricLabels
  readonly #requests: Counter
  readonly #cacheResults: Counter
  readonly #failures: Counter
  readonly #errors: Counter
  readonly #duration: FastHistogram
  readonly #overhead: FastHistogram
  readonly #ttft: FastHistogram
  readonly #tokens: Counter
  readonly #attempts: Counter
  readonly #upstream: FastHistogram
  readonly #transitions: Counter
  readonly #series = new Map<string, Map<string, Map<string, Series>>>()
  readonly #providerSeries = new Map<string, ProviderSeries>()
  readonly #tallies: Tally[] = []

  constructor(labels: MetricLabels, options: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.#labels = labels
    this.registry = options.registry ?? new Registry()
    const registers = [this.registry]
    const collect = () => this.#flush()
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry })
      // Gauges named like counters (promtool rejects them); their per-type siblings remain.
      for (const name of MISNAMED_DEFAULTS) this.registry.removeSingleMetric(name)
    }
    this.#requests = new Counter({
      name: 'llm_proxy_requests_total',
      help: 'Client requests answered, by route, model, provider that answered and HTTP status.',
      labelNames: ['route', 'model', 'provider', 'status'],
      registers,
      collect,
    })
    this.#failures = new Counter({
      name: 'llm_proxy_request_failures_total',
      help: 'Client requests the proxy could not answer completely (5xx, 429, stream cut after it started).',
      labelNames: ['route'],
      registers,
      collect,
    })
    this.#errors = new Counter({
      name: 'llm_proxy_errors_total',
      help: 'Client requests that ended with an error, by route and its stable code (proxy/ERRORS.md).',
      labelNames: ['route', 'code'],
      registers,
      collect,
    })
    this.#cacheResults = new Counter({
      name: 'llm_proxy_cache_requests_total',
      help: 'Client requests by response cache result (hit, miss, bypass).',
      labelNames: ['route', 'result'],
      registers,
      collect,
    })
    this.#duration = new FastHistogram({
      name: 'llm_proxy_request_duration_seconds',
      help: 'Time from receiving a client request to the end of its answer.',
      labelNames: ['route', 'model', 'stream'],
      buckets: DURATION_BUCKETS,
      registers,
    })
    this.#overhead = new FastHistogram({
      name: 'llm_proxy_overhead_seconds',
      help: 'Time spent in the proxy itself: request duration minus upstream calls and retry waits.',
      labelNames: ['route', 'stream'],
      buckets: OVERHEAD_BUCKETS,
      registers,
    })
    this.#ttft = new FastHistogram({
      name: 'llm_proxy_time_to_first_token_seconds',
      help: 'Time from receiving a streaming request to sending its first content event.',
      labelNames: ['model', 'provider'],
      buckets: TTFT_BUCKETS,
      registers,
    })
    this.#tokens = new Counter({
      name: 'llm_proxy_tokens_total',
      help: 'Tokens reported by providers, by kind (prompt, completion).',
      labelNames: ['provider', 'kind'],
      registers,
      collect,
    })
    this.#attempts = new Counter({
      name: 'llm_proxy_upstream_attempts_total',
      help: 'Calls to providers, by outcome (ok or the failure kind).',
      labelNames: ['provider', 'outcome'],
      registers,
      collect,
    })
    this.#upstream = new FastHistogram({
      name: 'llm_proxy_upstream_duration_seconds',
      help: 'Duration of each call to a provider (to the response head for streams).',
      labelNames: ['provider'],
      buckets: DURATION_BUCKETS,
      registers,
    })
    this.#transitions = new Counter({
      name: 'llm_proxy_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by the state entered.',
      labelNames: ['provider', 'state'],
      registers,
    })
  }

  request(o: RequestOutcome): void {
    const s = this.#seriesFor(o.route, o.model, o.provider)
    let requests = s.byStatus.get(o.status)
    if (requests === undefined) {
      requests = this.#tally(this.#requests.labels(s.route, s.model, s.provider, String(o.status)))
      s.byStatus.set(o.status, requests)
    }
    requests.n++
    if (o.errorCode !== undefined) {
      let errors = s.errors.get(o.errorCode)
      if (errors === undefined) {
        // Codes come from the catalogue (plus a few upstream ones): bounded.
        errors = this.#tally(this.#errors.labels(s.route, o.errorCode))
        s.errors.set(o.errorCode, errors)
      }
      errors.n++
    }
    if (requestFailed(o)) s.failures.n++
    s.cache[o.cache].n++
    const stream = o.stream ? 1 : 0
    s.duration[stream].observe(o.durationMs / 1000)
    const overhead = o.durationMs - o.upstreamMs - o.waitMs
    s.overhead[stream].observe(overhead > 0 ? overhead / 1000 : 0)
    if (o.ttftMs !== undefined) s.ttft.observe(o.ttftMs / 1000)
    if (o.usage) {
      if (o.usage.prompt_tokens > 0) s.promptTokens.n += o.usage.prompt_tokens
      if (o.usage.completion_tokens > 0) s.completionTokens.n += o.usage.completion_tokens
    }
  }

  attempt(e: AttemptEvent): void {
    if (e.outcome === 'breaker_open') return
    let p = this.#providerSeries.get(e.provider)
    if (p === undefined) {
      p = { duration: this.#upstream.labels(this.#providerName(e.provider)), outcomes: new Map() }
      this.#providerSeries.set(e.provider, p)
    }
    let outcome = p.outcomes.get(e.outcome)
    if (outcome === undefined) {
      outcome = this.#tally(this.#attempts.labels(this.#providerName(e.provider), e.outcome))
      p.outcomes.set(e.outcome, outcome)
    }
    outcome.n++
    p.duration.observe(e.durationMs / 1000)
  }

  breaker(provider: string, state: BreakerState): void {
    this.#transitions.labels(this.#providerName(provider), state).inc()
  }

  #tally(child: CounterChild): Tally {
    const t = new Tally(child)
    this.#tallies.push(t)
    return t
  }

  #flush(): void {
    for (const t of this.#tallies) {
      if (t.n > 0) {
        t.child.inc(t.n)
        t.n = 0
      }
    }
  }

  /** A routed model (aliases report under it), `none` for routes without a model, else `other`. */
  #modelLabel(model: string): string {
    return model === '' ? 'none' : (this.#labels.models.get(model) ?? OTHER)
  }

  #providerName(name: string | undefined): string {
    if (name === undefined) return 'none'
    return this.#labels.providers.includes(name) ? name : OTHER
  }

  #seriesFor(route: string, model: string, provider: string | undefined): Series {
    let byModel = this.#series.get(route)
    if (byModel === undefined) {
      if (this.#series.size >= MAX_ROUTES && route !== OTHER) return this.#seriesFor(OTHER, model, provider)
      byModel = new Map()
      this.#series.set(route, byModel)
    }
    let byProvider = byModel.get(model)
    if (byProvider === undefined) {
      const label = this.#modelLabel(model)
      byProvider = byModel.get(label)
      if (byProvider === undefined) {
        byProvider = new Map()
        byModel.set(label, byProvider)
      }
      // Aliases are cached under their own name too; unknown names are not, so they cannot grow the map.
      if (label !== OTHER) byModel.set(model, byProvider)
    }
    const key = provider ?? ''
    let series = byProvider.get(key)
    if (series === undefined) {
      series = this.#newSeries(route, this.#modelLabel(model), this.#providerName(provider))
      byProvider.set(key, series)
    }
    return series
  }

  #newSeries(route: string, model: string, provider: string): Series {
    const cache: Record<string, Tally> = {}
    for (const r of CACHE_RESULTS) cache[r] = this.#tally(this.#cacheResults.labels(route, r.toLowerCase()))
    return {
      route,
      model,
      provider,
      byStatus: new Map(),
      errors: new Map(),
      failures: this.#tally(this.#failures.labels(route)),
      duration: [this.#duration.labels(route, model, 'false'), this.#duration.labels(route, model, 'true')],
      overhead: [this.#overhead.labels(route, 'false'), this.#overhead.labels(route, 'true')],
      cache,
      ttft: this.#ttft.labels(model, provider),
      promptTokens: this.#tally(this.#tokens.labels(provider, 'prompt')),
      completionTokens: this.#tally(this.#tokens.labels(provider, 'completion')),
    }
  }
}

/** Model names clients may use -> their label: aliases report under the model they route to. */
export function modelLabels(models: Readonly<Record<string, { readonly aliases: readonly string[] }>>) {
  const out = new Map<string, string>()
  for (const [name, route] of Object.entries(models)) {
    out.set(name, name)
    for (const alias of route.aliases) out.set(alias, name)
  }
  return out
}
