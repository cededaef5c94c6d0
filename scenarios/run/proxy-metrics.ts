// Samples the proxy's JSON /metrics once a second during a run (memory, cache hit rate, breakers).
// A target without /metrics (404) is asked once and then left alone: proxy_metrics stays absent.
import { request } from 'undici'
import type { ProxySample } from '../../reports/src/summary.ts'

export type MetricsSamplerOptions = {
  readonly targetUrl: string
  readonly apiKey: string | null
  readonly intervalMs?: number
  /** Seconds since the run started. */
  readonly elapsedS: () => number
}

export type MetricsSampler = {
  /** The samples, or undefined when the target has no /metrics. */
  stop(): Promise<{ source: string; samples: ProxySample[] } | undefined>
}

export function startMetricsSampler(options: MetricsSamplerOptions): MetricsSampler {
  const source = `${options.targetUrl}/metrics`
  const samples: ProxySample[] = []
  let available: boolean | null = null
  let inFlight: Promise<void> = Promise.resolve()
  const headers = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : undefined

  const sample = async () => {
    try {
      const res = await request(source, { headers, headersTimeout: 2000, bodyTimeout: 2000 })
      if (res.statusCode !== 200) {
        await res.body.dump()
        if (res.statusCode === 404) available = false
        return
      }
      const t = Math.round(options.elapsedS() * 100) / 100
      const parsed = parseMetrics(await res.body.json(), t)
      available = true
      if (samples.length === 0 || t > samples[samples.length - 1].t) samples.push(parsed)
    } catch {
      // A missed sample (the proxy is busy or restarting) is a gap in the chart, not a failure.
    }
  }
  const timer = setInterval(() => {
    if (available === false) return clearInterval(timer)
    inFlight = sample()
  }, options.intervalMs ?? 1000)
  inFlight = sample()

  return {
    async stop() {
      clearInterval(timer)
      await inFlight
      return available && samples.length > 0 ? { source, samples } : undefined
    },
  }
}

const BREAKER_STATES = {
  closed: 'closed',
  open: 'open',
  half_open: 'half_open',
  halfopen: 'half_open',
} as const

/** Reads the fields the report knows, when present: memory.rss_mb, memory.heap_used_mb, cache.hit_rate, circuit_breakers.<p>.state. */
export function parseMetrics(body: unknown, t: number): ProxySample {
  const sample: ProxySample = { t }
  const root = (body ?? {}) as Record<string, Record<string, unknown> | undefined>
  const number = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
  const rss = number(root.memory?.rss_mb)
  const heap = number(root.memory?.heap_used_mb)
  const hit = number(root.cache?.hit_rate)
  if (rss !== undefined) sample.rss_mb = rss
  if (heap !== undefined) sample.heap_used_mb = heap
  if (hit !== undefined && hit <= 1) sample.cache_hit_rate = hit
  const breakers = root.circuit_breakers
  if (breakers && typeof breakers === 'object') {
    const states: Record<string, 'closed' | 'open' | 'half_open'> = {}
    for (const [provider, value] of Object.entries(breakers)) {
      const raw = typeof value === 'string' ? value : (value as { state?: unknown })?.state
      if (typeof raw !== 'string') continue
      const state = BREAKER_STATES[raw.toLowerCase().replace(/[-\s]/g, '_') as keyof typeof BREAKER_STATES]
      if (state) states[provider] = state
    }
    if (Object.keys(states).length > 0) sample.breakers = states
  }
  return sample
}
