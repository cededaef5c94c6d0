// The capacity report's charts, computed here and drawn by client.js with uPlot (numeric x axes):
// the throughput-latency curve with the knee, throughput against concurrency with the fitted USL,
// the resources by rate, concurrency by rate, and the held-out prediction against the measurement.
import type { CapacitySummary, StepPoint, Sweep } from './capacity-summary.ts'
import { type ChartSlot, type ChartSpec, PALETTE, type SeriesSpec } from './charts.ts'
import { formatNumber } from './format.ts'

const SWEEP_COLORS = [PALETTE.blue, PALETTE.orange, PALETTE.purple, PALETTE.teal]
const DASH = [6, 4]
const workersLabel = (w: number) => `${w} worker${w > 1 ? 's' : ''}`
const rateSteps = (sweep: Sweep) =>
  sweep.points
    .filter((p): p is StepPoint & { target_rps: number } => p.target_rps !== null)
    .sort((a, b) => a.target_rps - b.target_rps)

/** x values of several series on one axis: the sorted union, each series null where it has no value. */
function align(series: Point[][]): { x: number[]; ys: (number | null)[][] } {
  const xs = [...new Set(series.flatMap((s) => s.map((p) => p.x)))].sort((a, b) => a - b)
  const index = new Map(xs.map((x, i) => [x, i]))
  const ys = series.map((s) => {
    const column: (number | null)[] = xs.map(() => null)
    for (const p of s) column[index.get(p.x)!] = p.y
    return column
  })
  return { x: xs, ys }
}

type Point = { x: number; y: number | null }

/** A line chart's curves, collected one by one, then aligned on one numeric x axis. */
class Curves {
  readonly #points: Point[][] = []
  readonly #series: Omit<SeriesSpec, 'values'>[] = []

  add(points: Point[], series: Omit<SeriesSpec, 'values'>): void {
    this.#points.push(points)
    this.#series.push(series)
  }

  /** Null without a curve; `extra` adds series computed over the aligned x values. */
  chart(
    axes: Omit<ChartSpec, 'kind' | 'x' | 'series'>,
    extra: (x: number[]) => SeriesSpec[] = () => [],
  ): ChartSpec | null {
    if (this.#points.length === 0) return null
    const { x, ys } = align(this.#points)
    return {
      kind: 'line',
      x,
      ...axes,
      series: [...this.#series.map((s, i) => ({ ...s, values: ys[i] })), ...extra(x)],
    }
  }
}

/** Nudges equal x values apart (uPlot wants them increasing): saturated steps share their throughput. */
function distinct(points: Point[]): Point[] {
  const seen = new Set<number>()
  return points.map((p) => {
    let x = p.x
    while (seen.has(x)) x = Math.round((x + 0.01) * 100) / 100
    seen.add(x)
    return { ...p, x }
  })
}

function kneeMarks(summary: CapacitySummary): NonNullable<ChartSpec['marks']> {
  return summary.sweeps.flatMap((s, i) =>
    s.knee.rate === null
      ? []
      : [{ x: s.knee.rate, label: `knee ${workersLabel(s.workers)}`, color: SWEEP_COLORS[i % 4] }],
  )
}

function throughputLatency(summary: CapacitySummary): ChartSpec | null {
  const curves = new Curves()
  summary.sweeps.forEach((s, i) => {
    const steps = rateSteps(s)
    if (steps.length === 0) return
    const color = SWEEP_COLORS[i % 4]
    const label = workersLabel(s.workers)
    curves.add(
      steps.map((p) => ({ x: p.target_rps, y: p.ttft_ms?.p95 ?? null })),
      { label: `TTFT p95, ${label}`, color, points: true, spanGaps: true },
    )
    curves.add(
      steps.map((p) => ({ x: p.target_rps, y: p.latency_ms?.p50 ?? null })),
      { label: `latency p50, ${label}`, color, dash: DASH, points: true, spanGaps: true },
    )
    curves.add(
      steps.map((p) => ({ x: p.target_rps, y: p.achieved_rps })),
      { label: `throughput, ${label}`, color, dash: [2, 3], scale: 'y2', spanGaps: true },
    )
  })
  const slo = summary.slo.ttft_p95_ms
  return curves.chart(
    { xTitle: 'arrival rate (req/s)', xUnit: 'rps', unit: 'ms', unit2: 'rps', marks: kneeMarks(summary) },
    (x) =>
      slo === null
        ? []
        : [{ label: 'SLO TTFT p95', values: x.map(() => slo), color: PALETTE.red, dash: [3, 3] }],
  )
}

function uslChart(summary: CapacitySummary): ChartSpec | null {
  const curves = new Curves()
  summary.sweeps.forEach((s, i) => {
    const measured = s.points.filter((p) => p.verdict !== 'inconclusive' && p.concurrency.mean > 0)
    if (measured.length === 0) return
    const color = SWEEP_COLORS[i % 4]
    curves.add(
      distinct(measured.map((p) => ({ x: p.concurrency.mean, y: p.achieved_rps })).sort((a, b) => a.x - b.x)),
      { label: `measured, ${workersLabel(s.workers)}`, color, points: true, line: false },
    )
    if (s.usl) {
      const top = Math.max(...measured.map((p) => p.concurrency.mean)) * 1.1
      const u = s.usl
      curves.add(
        Array.from({ length: 61 }, (_, k) => {
          const n = Math.max(1, (top * k) / 60)
          return {
            x: Math.round(n * 100) / 100,
            y: (u.lambda * n) / (1 + u.sigma * (n - 1) + u.kappa * n * (n - 1)),
          }
        }),
        { label: `USL fit, ${workersLabel(s.workers)}`, color, dash: DASH, spanGaps: true },
      )
    }
  })
  return curves.chart({ xTitle: 'concurrency: requests in flight', xUnit: 'streams', unit: 'rps' })
}

function resourcesChart(sweep: Sweep, color: string): ChartSpec | null {
  const steps = rateSteps(sweep)
  if (steps.length === 0) return null
  const share = (p: StepPoint) =>
    p.resources.upstream_limit
      ? ((p.resources.upstream_in_use ?? 0) / p.resources.upstream_limit) * 100
      : null
  const cpu = (p: StepPoint) =>
    p.resources.proxy_cpu_percent === null ? null : p.resources.proxy_cpu_percent / sweep.workers
  const loop = (p: StepPoint) =>
    p.resources.event_loop_utilization === null ? null : p.resources.event_loop_utilization * 100
  return {
    kind: 'line',
    x: steps.map((p) => p.target_rps),
    xTitle: 'arrival rate (req/s)',
    xUnit: 'rps',
    unit: 'pct',
    unit2: 'mb',
    marks: sweep.knee.rate === null ? [] : [{ x: sweep.knee.rate, label: 'knee', color }],
    series: [
      { label: 'upstream pool in use', values: steps.map(share), color: PALETTE.red, points: true },
      { label: 'proxy CPU (of its cores)', values: steps.map(cpu), color: PALETTE.blue, points: true },
      { label: 'event loop busy', values: steps.map(loop), color: PALETTE.teal, points: true, dash: DASH },
      {
        label: 'RSS',
        values: steps.map((p) => p.resources.proxy_rss_mb),
        color: PALETTE.purple,
        scale: 'y2',
        points: true,
      },
    ],
  }
}

function concurrencyChart(summary: CapacitySummary): ChartSpec | null {
  const curves = new Curves()
  summary.sweeps.forEach((s, i) => {
    const steps = rateSteps(s)
    if (steps.length === 0) return
    const color = SWEEP_COLORS[i % 4]
    const label = workersLabel(s.workers)
    curves.add(
      steps.map((p) => ({ x: p.target_rps, y: p.concurrency.mean })),
      { label: `streams in flight, ${label}`, color, points: true, spanGaps: true },
    )
    curves.add(
      steps.map((p) => ({ x: p.target_rps, y: p.resources.upstream_in_use })),
      { label: `upstream in use, ${label}`, color, dash: [2, 3], spanGaps: true },
    )
    curves.add(
      steps.map((p) => ({ x: p.target_rps, y: p.resources.upstream_limit })),
      { label: `pool limit, ${label}`, color, dash: DASH, spanGaps: true },
    )
  })
  return curves.chart({
    xTitle: 'arrival rate (req/s)',
    xUnit: 'rps',
    unit: 'streams',
    marks: kneeMarks(summary),
  })
}

function predictionChart(summary: CapacitySummary): ChartSpec | null {
  const truth = summary.truth
  const sweep = summary.sweeps[0]
  if (!truth || !sweep || truth.held_out.length === 0) return null
  const measured = rateSteps(sweep)
  const { x, ys } = align([
    measured.map((p) => ({ x: p.target_rps, y: p.latency_ms?.mean ?? null })),
    truth.held_out.map((h) => ({ x: h.rate, y: h.predicted.latency_mean_ms })),
    measured.map((p) => ({ x: p.target_rps, y: p.ttft_ms?.p95 ?? null })),
    truth.held_out.map((h) => ({ x: h.rate, y: h.predicted.ttft_p95_ms })),
  ])
  const marks: NonNullable<ChartSpec['marks']> = [
    { x: truth.fit_max_rps, label: 'fit up to here', color: PALETTE.grey },
  ]
  if (truth.predicted_knee_rps !== null)
    marks.push({ x: truth.predicted_knee_rps, label: 'predicted knee', color: PALETTE.orange })
  if (truth.measured_knee_rps !== null)
    marks.push({ x: truth.measured_knee_rps, label: 'measured knee', color: PALETTE.blue })
  return {
    kind: 'line',
    x,
    xTitle: 'arrival rate (req/s)',
    xUnit: 'rps',
    unit: 'ms',
    marks,
    series: [
      { label: 'latency mean, measured', values: ys[0], color: PALETTE.blue, points: true, line: false },
      { label: 'latency mean, predicted', values: ys[1], color: PALETTE.blue, dash: DASH, spanGaps: true },
      { label: 'TTFT p95, measured', values: ys[2], color: PALETTE.orange, points: true, line: false },
      { label: 'TTFT p95, predicted', values: ys[3], color: PALETTE.orange, dash: DASH, spanGaps: true },
    ],
  }
}

export function buildCapacityCharts(summary: CapacitySummary): ChartSlot[] {
  const none = 'The run measured no rate step.'
  const slots: ChartSlot[] = [
    {
      name: 'throughput-latency',
      title: 'Throughput and latency',
      caption: `Each arrival rate: TTFT p95 and latency p50 (left), the throughput achieved (right, dotted: it stops following the rate where the proxy saturates); dashed vertical: the knee, the highest rate that held the SLO${summary.slo.ttft_p95_ms === null ? '' : `; red: the SLO, TTFT p95 below ${formatNumber(summary.slo.ttft_p95_ms)} ms`}.`,
      missing: none,
      spec: throughputLatency(summary),
    },
    {
      name: 'usl',
      title: 'Throughput against concurrency (USL)',
      caption: 'Measured steps (markers) and the Universal Scalability Law fitted to them (dashed).',
      missing: none,
      spec: uslChart(summary),
    },
    {
      name: 'prediction',
      title: 'Held-out prediction',
      caption:
        'Fitted on the rates left of the grey line only, predicted before the others ran; markers are measured.',
      missing:
        'The run made no held-out check (a single worker count failed early, or --target without lower rates).',
      spec: predictionChart(summary),
    },
    {
      name: 'concurrency',
      title: 'Concurrent streams by rate',
      caption:
        "Requests in flight at the generator, upstream connections in use (the proxy's pools) and the pool limit.",
      missing: none,
      spec: concurrencyChart(summary),
    },
  ]
  for (const [i, s] of summary.sweeps.entries()) {
    slots.push({
      name: `resources-${s.workers}`,
      title: `Resources by rate, ${workersLabel(s.workers)}`,
      caption:
        'Use of each resource as a share of its limit (left) and resident memory (right): the one that reaches 100 % binds.',
      missing: none,
      spec: resourcesChart(s, SWEEP_COLORS[i % 4]),
    })
  }
  return slots
}
