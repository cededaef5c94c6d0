import { Counter, Gauge, type Registry } from 'prom-client'
import type { DeliveryResult } from './alert-engine.ts'
import type { AlertMetrics } from './alert-expr.ts'
import type { StatsSections } from './request-stats.ts'

// The values alert conditions read, from the same figures the JSON /metrics shows (one process
// or a cluster's workers merged), and the alerting subsystem's own Prometheus metrics.

export interface ProcessFigures {
  readonly memoryUsagePercent: number | null
  readonly openBreakers: number
  readonly cacheHitRate: number | null
}

export function alertMetrics(sections: StatsSections, figures: ProcessFigures): AlertMetrics {
  const r = sections.requests
  return {
    error_rate: r.error_rate,
    avg_response_time: r.average_response_time_ms,
    p50_response_time: r.p50_response_time_ms,
    p95_response_time: r.p95_response_time_ms,
    p99_response_time: r.p99_response_time_ms,
    memory_usage_percent: figures.memoryUsagePercent,
    cache_hit_rate: figures.cacheHitRate,
    open_breakers: figures.openBreakers,
    requests_per_second: r.requests_per_second,
  }
}

export interface AlertStates {
  states(): readonly { name: string; severity: string; state: string }[]
}

/** `llm_proxy_alerts_firing` and `llm_proxy_alert_notifications_total`; returns the delivery hook. */
export function registerAlertMetrics(registry: Registry, engine: () => AlertStates | undefined) {
  new Gauge({
    name: 'llm_proxy_alerts_firing',
    help: 'Alert rules of the proxy currently firing (1) or not (0).',
    labelNames: ['alert', 'severity'],
    registers: [registry],
    aggregator: 'max',
    collect() {
      for (const s of engine()?.states() ?? []) {
        this.set({ alert: s.name, severity: s.severity }, s.state === 'firing' ? 1 : 0)
      }
    },
  })
  const deliveries = new Counter({
    name: 'llm_proxy_alert_notifications_total',
    help: 'Alert notifications sent, by channel, status (firing, resolved) and result (ok, error).',
    labelNames: ['channel', 'status', 'result'],
    registers: [registry],
  })
  return (d: DeliveryResult) =>
    deliveries.inc({ channel: d.channel, status: d.status, result: d.ok ? 'ok' : 'error' })
}
