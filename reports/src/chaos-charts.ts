// The chaos report's time charts: every one shades the run's phases and names them (client.js draws
// the bands), so a dip or a spike is read against the fault that caused it.
import type { ChaosSummary } from './chaos-summary.ts'
import { type ChartBand, type ChartSlot, type ChartSpec, PALETTE } from './charts.ts'

const DASH = [6, 4]
const TIME = 'time since start (s)'
/** Phases with faults are tinted; quiet ones barely. */
export const BAND_FILL = { fault: 'rgba(234, 88, 12, 0.13)', quiet: 'rgba(100, 116, 139, 0.07)' }
const PROVIDER_COLORS = [PALETTE.blue, PALETTE.purple, PALETTE.teal, PALETTE.orange]

export function phaseBands(summary: ChaosSummary): ChartBand[] {
  return summary.phases.map((p) => ({
    from: p.start_s,
    to: p.end_s,
    label: p.name,
    fill: p.faults.length > 0 ? BAND_FILL.fault : BAND_FILL.quiet,
  }))
}

export function buildChaosCharts(summary: ChaosSummary): ChartSlot[] {
  const bands = phaseBands(summary)
  const points = summary.timeseries.points
  const noSeries = 'No request was sent.'
  const slot = (
    name: string,
    title: string,
    caption: string,
    missing: string,
    spec: ChartSpec | null,
  ): ChartSlot => ({
    name,
    title,
    caption,
    missing,
    spec: spec ? { ...spec, bands } : null,
  })
  const x = points.map((p) => p.t - summary.timeseries.bucket_s / 2)
  const intended = points.map(
    (p) => summary.phases.find((ph) => p.t - 0.5 >= ph.start_s && p.t - 0.5 < ph.end_s)?.rate ?? null,
  )
  const upstream = Object.entries(summary.upstream).filter(([, s]) => s.length > 0)
  return [
    slot(
      'chaos-requests',
      'Requests by outcome',
      'Requests per second by the second they started in (a failure: the second it happened), by outcome; dashed: the rate the phase sends.',
      noSeries,
      points.length === 0
        ? null
        : {
            kind: 'line',
            x,
            xTitle: TIME,
            unit: 'rps',
            series: [
              {
                label: 'succeeded',
                values: points.map((p) => p.ok),
                color: PALETTE.blue,
                fill: PALETTE.fillBlue,
              },
              {
                label: 'failed',
                values: points.map((p) => p.failed),
                color: PALETTE.red,
                fill: PALETTE.fillRed,
              },
              { label: 'sent (intended)', values: intended, color: PALETTE.grey, dash: DASH },
            ],
          },
    ),
    slot(
      'chaos-success',
      'Success rate',
      'Share of the requests of each second that succeeded (a failure counts when it happened).',
      noSeries,
      points.length === 0
        ? null
        : {
            kind: 'line',
            x,
            xTitle: TIME,
            unit: 'pct',
            series: [
              {
                label: 'success rate',
                values: points.map((p) => (p.success_rate === null ? null : p.success_rate * 100)),
                color: PALETTE.teal,
                fill: PALETTE.fillTeal,
              },
            ],
          },
    ),
    slot(
      'chaos-latency',
      'Latency of successful requests',
      'p50, p95 and p99 of the requests started in each second, from their intended send time.',
      noSeries,
      points.some((p) => p.p50_ms !== null)
        ? {
            kind: 'line',
            x,
            xTitle: TIME,
            unit: 'ms',
            series: [
              { label: 'p50', values: points.map((p) => p.p50_ms), color: PALETTE.blue },
              { label: 'p95', values: points.map((p) => p.p95_ms), color: PALETTE.orange },
              { label: 'p99', values: points.map((p) => p.p99_ms), color: PALETTE.purple },
            ],
          }
        : null,
    ),
    slot(
      'chaos-upstream',
      'Calls received by each provider',
      'Requests per second each mock provider saw (its own counter): failover and retry storms show here.',
      'The mocks\u2019 statistics were not read.',
      upstream.length === 0
        ? null
        : alignedSeries(
            upstream.map(([name, s], i) => ({
              label: name,
              color: PROVIDER_COLORS[i % PROVIDER_COLORS.length],
              points: s.map((p) => ({ t: p.t, v: p.rps })),
            })),
            'rps',
          ),
    ),
    slot(
      'chaos-memory',
      'Proxy memory',
      'Resident set size of the proxy (the largest instance, its workers included), read from /proc.',
      'The proxy\u2019s memory was not read.',
      summary.memory.length === 0
        ? null
        : alignedSeries(
            [
              {
                label: 'RSS',
                color: PALETTE.purple,
                points: summary.memory.map((m) => ({ t: m.t, v: m.rss_mb })),
              },
            ],
            'mb',
          ),
    ),
  ]
}

/** Several sampled series on one x axis (the union of their times; gaps where one has no sample). */
function alignedSeries(
  list: { label: string; color: string; points: { t: number; v: number }[] }[],
  unit: 'rps' | 'mb',
): ChartSpec {
  const times = [...new Set(list.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b)
  return {
    kind: 'line',
    x: times,
    xTitle: TIME,
    unit,
    series: list.map((s) => {
      const byT = new Map(s.points.map((p) => [p.t, p.v]))
      return { label: s.label, color: s.color, values: times.map((t) => byT.get(t) ?? null) }
    }),
  }
}
