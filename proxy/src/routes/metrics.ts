import type { FastifyInstance } from 'fastify'
import { AggregatorRegistry } from 'prom-client'
import { PUBLIC } from '../http/access.ts'
import { metricsDocument } from '../observability/metrics-json.ts'
import type { ClusterReports, Telemetry } from '../observability/telemetry.ts'

// GET /metrics (JSON, the sections the guide's troubleshooting commands query) and
// GET /metrics/prometheus (text exposition format). Under node:cluster the worker that answers
// asks the primary for every worker's figures: Prometheus metrics are aggregated (counters and
// histogram buckets summed, gauges by their declared aggregator) and the JSON's requests,
// http_client and providers sections are cluster-wide; the rest describes the answering worker.
// Unauthenticated like /health: no secrets in either.

async function clusterReports(telemetry: Telemetry): Promise<ClusterReports | undefined> {
  const link = telemetry.deps.cluster
  if (!link) return undefined
  try {
    return await link.collect()
  } catch {
    return undefined
  }
}

export function registerMetricsRoutes(app: FastifyInstance, telemetry: Telemetry): void {
  app.get('/metrics', PUBLIC, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const sources = telemetry.jsonSources()
    const cluster = await clusterReports(telemetry)
    if (cluster) {
      const stats = cluster.workers.flatMap((w) => (w.stats ? [w.stats] : []))
      return metricsDocument(
        sources,
        stats,
        cluster.workers.map((w) => w.summary),
      )
    }
    return metricsDocument(sources, telemetry.stats ? [telemetry.stats.export()] : [])
  })

  app.get('/metrics/prometheus', PUBLIC, async (_request, reply) => {
    const registry = telemetry.prom.registry
    reply.header('content-type', registry.contentType).header('cache-control', 'no-store')
    const cluster = await clusterReports(telemetry)
    if (!cluster) return registry.metrics()
    const all = [...cluster.workers.map((w) => w.prom), cluster.primary]
    return AggregatorRegistry.aggregate(all).metrics()
  })
}
