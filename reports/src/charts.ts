// Chart specs: what each chart shows, computed here (typed and testable) and drawn in the page by
// client.js with uPlot. A chart whose data the run did not measure gets a note instead of a plot.
import { escapeHtml } from './escape.ts'
import { formatNumber } from './format.ts'
import type { RunSummary, TimePoint } from './summary.ts'

export type ChartUnit = 'ms' | 'pct' | 'rps' | 'mb' | 'users' | 'count' | 'streams'

export type SeriesSpec = {
  label: string
  values: (number | null)[]
  color: string
  dash?: number[]
  fill?: string
  /** 'y2' puts the series on the right-hand axis. */
  scale?: 'y' | 'y2'
  /** Markers on each value (measured points); with `line: false`, markers only. */
  points?: boolean
  line?: boolean
  /** Draw the line across null values (a curve sampled on its own x values). */
  spanGaps?: boolean
}

/** A shaded, named stretch of the time axis (a chaos run's phases). */
export type ChartBand = { from: number; to: number; label: string; fill: string }

export type ChartSpec = {
  kind: 'line' | 'bars'
  /** Seconds since the start of the run, or bucket indexes for bars. */
  x: number[]
  /** Tick labels for bars, one per bucket. */
  xLabels?: string[]
  xTitle: string
  /** A numeric x axis in this unit (a rate, a concurrency) instead of time since the start. */
  xUnit?: ChartUnit
  /** Dashed vertical lines at x values, labelled (a knee). */
  marks?: { x: number; label: string; color: string }[]
  unit: ChartUnit
  unit2?: ChartUnit
  series: SeriesSpec[]
  /** Drawn behind the series, each named at its top; the x axis then spans them all. */
  bands?: ChartBand[]
}

export type ChartSlot = {
  name: string
  title: string
  caption: string
  spec: ChartSpec | null
  /** Why the chart is absent, shown in place of the plot. */
  missing: string
}

export const PALETTE = {
  blue: '#2563eb',
  orange: '#ea580c',
  purple: '#7c3aed',
  teal: '#0d9488',
  red: '#dc2626',
  grey: '#64748b',
  fillBlue: 'rgba(37, 99, 235, 0.12)',
  fillTeal: 'rgba(13, 148, 136, 0.12)',
  fillRed: 'rgba(220, 38, 38, 0.12)',
}

const TARGET_DASH = [6, 4]
const TIME_TITLE = 'time since start'

/** Every chart of the report, in display order, each either with a spec or with the reason it is missing. */
export function buildCharts(summary: RunSummary): ChartSlot[] {
  const points = summary.timeseries?.points ?? []
  const samples = summary.proxy_metrics?.samples ?? []
  const noSeries = 'The run recorded no time series.'
  const noStreams = 'No streaming scenario completed a stream.'
  const noProxyMetrics = summary.proxy_metrics
    ? 'The proxy metrics endpoint did not report this value.'
    : 'The target exposes no metrics endpoint the harness could sample.'
  const bucket = summary.timeseries ? `${formatNumber(summary.timeseries.bucket_s)} s ` : ''
  const { tier } = summary
  const target = tier.latency_target
  return [
    slot(
      'rps',
      'Requests per second',
      `Achieved rate per ${bucket}bucket; dashed: the expected rate; active users on the right axis.`,
      noSeries,
      () => rpsChart(summary, points),
    ),
    slot(
      'latency',
      'Latency percentiles over time',
      `p50, p95 and p99 per bucket; dashed: the tier target, p${formatNumber(target.percentile)} below ${formatNumber(target.max_ms)} ms.`,
      noSeries,
      () => latencyChart(summary, points),
    ),
    slot(
      'errors',
      'Error rate over time',
      `Share of failed requests per bucket; dashed: the tier limit of ${formatNumber(tier.error_rate_max * 100)} %${points.some((p) => (p.dropped ?? 0) > 0) ? '; arrivals dropped per bucket (all connections busy) on the right axis' : ''}.`,
      noSeries,
      () => errorChart(summary, points),
    ),
    slot(
      'latency-histogram',
      'Latency distribution',
      'Requests by latency bucket (upper bound in ms), over the whole run.',
      'The engine reported no latency histogram.',
      () => histogramChart(summary),
    ),
    slot(
      'ttft',
      'Time to first token',
      'Generated streams (not cache replays): p50 and p95 time to the first content chunk.',
      noStreams,
      () => pairChart(points, 'ttft_p50_ms', 'ttft_p95_ms', 'TTFT'),
    ),
    slot(
      'itl',
      'Inter-token latency',
      'Generated streams (not cache replays): p50 and p95 gap between consecutive chunks.',
      noStreams,
      () => pairChart(points, 'itl_p50_ms', 'itl_p95_ms', 'ITL'),
    ),
    slot(
      'proxy-memory',
      'Proxy memory',
      'Resident set size and V8 heap used, sampled from the proxy.',
      noProxyMetrics,
      () => memoryChart(samples),
    ),
    slot(
      'cache-hit-rate',
      'Proxy cache hit rate',
      'Response cache hits as a share of lookups.',
      noProxyMetrics,
      () => cacheChart(samples),
    ),
  ]
}

function slot(
  name: string,
  title: string,
  caption: string,
  missing: string,
  build: () => ChartSpec | null,
): ChartSlot {
  return { name, title, caption, missing, spec: build() }
}

function rpsChart(summary: RunSummary, points: TimePoint[]): ChartSpec | null {
  if (points.length === 0) return null
  return {
    kind: 'line',
    x: points.map((p) => p.t),
    xTitle: TIME_TITLE,
    unit: 'rps',
    unit2: 'users',
    series: [
      {
        label: 'achieved req/s',
        values: points.map((p) => p.rps),
        color: PALETTE.blue,
        fill: PALETTE.fillBlue,
      },
      {
        label: 'expected req/s',
        values: points.map(() => summary.tier.expected_rps),
        color: PALETTE.grey,
        dash: TARGET_DASH,
      },
      {
        label: 'active users',
        values: points.map((p) => p.active_users),
        color: PALETTE.purple,
        scale: 'y2',
      },
    ],
  }
}

function latencyChart(summary: RunSummary, points: TimePoint[]): ChartSpec | null {
  if (points.length === 0) return null
  const target = summary.tier.latency_target
  return {
    kind: 'line',
    x: points.map((p) => p.t),
    xTitle: TIME_TITLE,
    unit: 'ms',
    series: [
      { label: 'p50', values: points.map((p) => p.p50_ms), color: PALETTE.blue },
      { label: 'p95', values: points.map((p) => p.p95_ms), color: PALETTE.orange },
      { label: 'p99', values: points.map((p) => p.p99_ms), color: PALETTE.purple },
      {
        label: `target p${formatNumber(target.percentile)}`,
        values: points.map(() => target.max_ms),
        color: PALETTE.red,
        dash: TARGET_DASH,
      },
    ],
  }
}

function errorChart(summary: RunSummary, points: TimePoint[]): ChartSpec | null {
  if (points.length === 0) return null
  const dropped = points.some((p) => (p.dropped ?? 0) > 0)
  return {
    kind: 'line',
    x: points.map((p) => p.t),
    xTitle: TIME_TITLE,
    unit: 'pct',
    ...(dropped ? { unit2: 'count' as const } : {}),
    series: [
      {
        label: 'error rate',
        values: points.map((p) => p.error_rate * 100),
        color: PALETTE.red,
        fill: PALETTE.fillRed,
      },
      {
        label: 'limit',
        values: points.map(() => summary.tier.error_rate_max * 100),
        color: PALETTE.grey,
        dash: TARGET_DASH,
      },
      ...(dropped
        ? [
            {
              label: 'dropped arrivals',
              values: points.map((p) => p.dropped ?? 0),
              color: PALETTE.purple,
              scale: 'y2' as const,
            },
          ]
        : []),
    ],
  }
}

function histogramChart(summary: RunSummary): ChartSpec | null {
  const buckets = summary.latency_histogram?.buckets ?? []
  if (buckets.length === 0) return null
  return {
    kind: 'bars',
    x: buckets.map((_, i) => i),
    xLabels: buckets.map((b) => `\u2264${formatNumber(b.le_ms)}`),
    xTitle: 'latency (ms, bucket upper bound)',
    unit: 'count',
    series: [
      { label: 'requests', values: buckets.map((b) => b.count), color: PALETTE.blue, fill: PALETTE.blue },
    ],
  }
}

type StreamKey = 'ttft_p50_ms' | 'ttft_p95_ms' | 'itl_p50_ms' | 'itl_p95_ms'

function pairChart(points: TimePoint[], p50: StreamKey, p95: StreamKey, name: string): ChartSpec | null {
  if (!points.some((p) => isNumber(p[p50]) || isNumber(p[p95]))) return null
  return {
    kind: 'line',
    x: points.map((p) => p.t),
    xTitle: TIME_TITLE,
    unit: 'ms',
    series: [
      {
        label: `${name} p50`,
        values: points.map((p) => p[p50] ?? null),
        color: PALETTE.teal,
        fill: PALETTE.fillTeal,
      },
      { label: `${name} p95`, values: points.map((p) => p[p95] ?? null), color: PALETTE.orange },
    ],
  }
}

function memoryChart(samples: NonNullable<RunSummary['proxy_metrics']>['samples']): ChartSpec | null {
  if (!samples.some((s) => isNumber(s.rss_mb) || isNumber(s.heap_used_mb))) return null
  return {
    kind: 'line',
    x: samples.map((s) => s.t),
    xTitle: TIME_TITLE,
    unit: 'mb',
    series: [
      {
        label: 'RSS',
        values: samples.map((s) => s.rss_mb ?? null),
        color: PALETTE.purple,
        fill: 'rgba(124, 58, 237, 0.1)',
      },
      { label: 'heap used', values: samples.map((s) => s.heap_used_mb ?? null), color: PALETTE.teal },
    ],
  }
}

function cacheChart(samples: NonNullable<RunSummary['proxy_metrics']>['samples']): ChartSpec | null {
  if (!samples.some((s) => isNumber(s.cache_hit_rate))) return null
  return {
    kind: 'line',
    x: samples.map((s) => s.t),
    xTitle: TIME_TITLE,
    unit: 'pct',
    series: [
      {
        label: 'hit rate',
        values: samples.map((s) => (isNumber(s.cache_hit_rate) ? s.cache_hit_rate * 100 : null)),
        color: PALETTE.teal,
        fill: PALETTE.fillTeal,
      },
    ],
  }
}

function isNumber(value: number | null | undefined): value is number {
  return typeof value === 'number'
}

/** The figure for one chart: a plot container client.js draws into, or the "not measured" note. */
export function renderChartSlot(chart: ChartSlot): string {
  const title = escapeHtml(chart.title)
  const body = chart.spec
    ? `<div class="chart-plot" role="img" aria-label="${title}"></div>`
    : `<p class="chart-missing"><strong>Not measured in this run</strong><span>${escapeHtml(chart.missing)}</span></p>`
  return `<figure class="chart${chart.spec ? '' : ' chart--missing'}" data-chart="${escapeHtml(chart.name)}">
<figcaption><h3>${title}</h3><p>${escapeHtml(chart.caption)}</p></figcaption>
${body}
</figure>`
}

/** The specs the page draws, keyed by chart name (only the charts that have data). */
export function chartData(charts: ChartSlot[]): Record<string, ChartSpec> {
  const data: Record<string, ChartSpec> = {}
  for (const chart of charts) if (chart.spec) data[chart.name] = chart.spec
  return data
}
