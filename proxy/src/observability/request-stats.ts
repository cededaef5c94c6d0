import type { AttemptEvent } from '../resilience/executor.ts'
import type { Observer, RequestOutcome } from './observer.ts'
import { mergeWindows, round, SlidingWindow, type WindowExport, type WindowFigures } from './window.ts'

// The figures behind the JSON /metrics, /health/providers and the alert rules: counters since
// start and latency percentiles over a sliding window, for client requests (`requests`), for the
// calls the proxy's HTTP client makes to providers (`http_client`) and per provider.

interface Counts {
  total: number
  successes: number
  failures: number
  client_errors: number
  aborted: number
}

const counts = (): Counts => ({ total: 0, successes: 0, failures: 0, client_errors: 0, aborted: 0 })

interface ProviderTally {
  readonly counts: Counts
  readonly window: SlidingWindow
  promptTokens: number
  completionTokens: number
}

export interface StatsExport {
  readonly windowMs: number
  readonly uptimeMs: number
  readonly requests: Counts & { streams: number; cache: Record<string, number>; window: WindowExport }
  readonly overhead: WindowExport
  readonly ttft: WindowExport
  readonly http_client: Counts & { window: WindowExport }
  readonly providers: Record<
    string,
    Counts & { window: WindowExport; prompt_tokens: number; completion_tokens: number }
  >
}

/** A client request failed when the proxy could not give a complete answer. */
export function requestFailed(o: RequestOutcome): boolean {
  return o.status >= 500 || o.status === 429 || (o.truncated && !o.aborted)
}

export class RequestStats implements Observer {
  readonly windowMs: number
  readonly #now: () => number
  readonly #startedAt: number
  readonly #requests = counts()
  readonly #cache: Record<string, number> = { HIT: 0, MISS: 0, BYPASS: 0 }
  #streams = 0
  readonly #requestWindow: SlidingWindow
  readonly #overheadWindow: SlidingWindow
  readonly #ttftWindow: SlidingWindow
  readonly #attempts = counts()
  readonly #attemptWindow: SlidingWindow
  readonly #providers = new Map<string, ProviderTally>()

  constructor(providers: readonly string[], options: { now: () => number; windowMs?: number }) {
    this.windowMs = options.windowMs ?? 60_000
    this.#now = options.now
    this.#startedAt = options.now()
    const win = () => new SlidingWindow(this.windowMs, options.now)
    this.#requestWindow = win()
    this.#overheadWindow = win()
    this.#ttftWindow = win()
    this.#attemptWindow = win()
    for (const name of providers) {
      this.#providers.set(name, { counts: counts(), window: win(), promptTokens: 0, completionTokens: 0 })
    }
  }

  request(o: RequestOutcome): void {
    const c = this.#requests
    c.total++
    if (o.stream) this.#streams++
    this.#cache[o.cache]++
    if (o.usage && o.provider) {
      const p = this.#providers.get(o.provider)
      if (p) {
        p.promptTokens += o.usage.prompt_tokens
        p.completionTokens += o.usage.completion_tokens
      }
    }
    if (o.aborted) {
      c.aborted++
      return
    }
    const failed = requestFailed(o)
    if (failed) c.failures++
    else if (o.status >= 400) c.client_errors++
    else c.successes++
    const at = this.#now()
    this.#requestWindow.record(o.durationMs, failed, at)
    this.#overheadWindow.record(Math.max(0, o.durationMs - o.upstreamMs - o.waitMs), false, at)
    if (o.ttftMs !== undefined) this.#ttftWindow.record(o.ttftMs, false, at)
  }

  attempt(e: AttemptEvent): void {
    if (e.outcome === 'breaker_open') return
    const p = this.#providers.get(e.provider)
    const a = this.#attempts
    a.total++
    if (p) p.counts.total++
    if (e.outcome === 'aborted') {
      a.aborted++
      if (p) p.counts.aborted++
      return
    }
    // A provider refusing a bad request is working as it should; a 429 is not.
    const clientError = e.outcome === 'status' && e.status !== undefined && e.status < 500 && e.status !== 429
    const failed = e.outcome !== 'ok' && !clientError
    const bucket = failed ? 'failures' : clientError ? 'client_errors' : 'successes'
    a[bucket]++
    const at = this.#now()
    this.#attemptWindow.record(e.durationMs, failed, at)
    if (p) {
      p.counts[bucket]++
      p.window.record(e.durationMs, failed, at)
    }
  }

  breaker(): void {}

  get totalRequests(): number {
    return this.#requests.total
  }

  /** Recent figures of one provider's calls (health checks read them). */
  providerWindow(name: string): WindowFigures | undefined {
    return this.#providers.get(name)?.window.figures()
  }

  export(): StatsExport {
    const providers: StatsExport['providers'] = {}
    for (const [name, p] of this.#providers) {
      providers[name] = {
        ...p.counts,
        window: p.window.export(),
        prompt_tokens: p.promptTokens,
        completion_tokens: p.completionTokens,
      }
    }
    return {
      windowMs: this.windowMs,
      uptimeMs: this.#now() - this.#startedAt,
      requests: {
        ...this.#requests,
        streams: this.#streams,
        cache: { ...this.#cache },
        window: this.#requestWindow.export(),
      },
      overhead: this.#overheadWindow.export(),
      ttft: this.#ttftWindow.export(),
      http_client: { ...this.#attempts, window: this.#attemptWindow.export() },
      providers,
    }
  }
}

const sum = <T>(items: readonly T[], pick: (item: T) => number) => items.reduce((n, x) => n + pick(x), 0)

function sumCounts(items: readonly Counts[]): Counts {
  return {
    total: sum(items, (c) => c.total),
    successes: sum(items, (c) => c.successes),
    failures: sum(items, (c) => c.failures),
    client_errors: sum(items, (c) => c.client_errors),
    aborted: sum(items, (c) => c.aborted),
  }
}

function describe(c: Counts, w: WindowFigures) {
  return {
    requests: c.total,
    successes: c.successes,
    failures: c.failures,
    client_errors: c.client_errors,
    aborted: c.aborted,
    error_rate: w.error_rate,
    average_response_time_ms: w.avg_ms,
    p50_response_time_ms: w.p50_ms,
    p95_response_time_ms: w.p95_ms,
    p99_response_time_ms: w.p99_ms,
    max_response_time_ms: w.max_ms,
    window: { requests: w.requests, failures: w.failures },
  }
}

/**
 * The `requests`, `http_client` and `providers` sections of the JSON /metrics, from one process's
 * export or several workers' together (counters add up, histograms merge).
 */
export function statsSections(exports: readonly StatsExport[]) {
  const windowMs = exports[0]?.windowMs ?? 60_000
  const uptimeMs = Math.max(...exports.map((e) => e.uptimeMs), 1)
  const reqWindow = mergeWindows(exports.map((e) => e.requests.window))
  const overhead = mergeWindows(exports.map((e) => e.overhead))
  const ttft = mergeWindows(exports.map((e) => e.ttft))
  const cache: Record<string, number> = {}
  for (const e of exports)
    for (const [k, v] of Object.entries(e.requests.cache)) cache[k] = (cache[k] ?? 0) + v
  const seconds = Math.min(windowMs, uptimeMs) / 1000
  const requests = {
    window_seconds: windowMs / 1000,
    ...describe(sumCounts(exports.map((e) => e.requests)), reqWindow),
    streams: sum(exports, (e) => e.requests.streams),
    requests_per_second: round(reqWindow.requests / seconds, 2),
    cache,
    overhead_ms: { avg: overhead.avg_ms, p50: overhead.p50_ms, p95: overhead.p95_ms, p99: overhead.p99_ms },
    time_to_first_token_ms: { avg: ttft.avg_ms, p50: ttft.p50_ms, p95: ttft.p95_ms, p99: ttft.p99_ms },
  }
  const http_client = {
    window_seconds: windowMs / 1000,
    ...describe(
      sumCounts(exports.map((e) => e.http_client)),
      mergeWindows(exports.map((e) => e.http_client.window)),
    ),
  }
  const providers: Record<string, unknown> = {}
  for (const name of Object.keys(exports[0]?.providers ?? {})) {
    const parts = exports.map((e) => e.providers[name]).filter((p) => p !== undefined)
    const w = mergeWindows(parts.map((p) => p.window))
    const prompt = sum(parts, (p) => p.prompt_tokens)
    const completion = sum(parts, (p) => p.completion_tokens)
    providers[name] = {
      ...describe(sumCounts(parts), w),
      latency_ms: { avg: w.avg_ms, p50: w.p50_ms, p95: w.p95_ms, p99: w.p99_ms },
      tokens: { prompt, completion, total: prompt + completion },
    }
  }
  return { requests, http_client, providers }
}

export type StatsSections = ReturnType<typeof statsSections>
