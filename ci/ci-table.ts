// The table load:ci prints: one line per tier with the seed baselines, the proxy's own time beside the
// total, and the regression verdict of each gated metric with the smallest change it could see.
import { changeText } from '../reports/src/format.ts'
import { mockLatencyText } from '../reports/src/notices.ts'
import type { RegressionVerdict, RunSummary } from '../reports/src/summary.ts'

export type CiRow = {
  /** The tier's last run directory. */
  dir: string
  /** Every run directory of the tier (several when it took several runs). */
  dirs: readonly string[]
  /** The last run's summary, gated. */
  summary: RunSummary
  summaries: readonly RunSummary[]
  gateNote: string | null
}

const fmt = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined ? 'n/a' : value.toFixed(digits)

/** A tier's status over its runs: the worst of them. */
function tierStatus(summaries: readonly RunSummary[]): string {
  const order = ['broken', 'failed', 'inconclusive', 'passed'] as const
  const worst = order.find((s) => summaries.some((x) => x.status === s)) ?? 'passed'
  return summaries.length > 1 ? `${worst} (${summaries.length} runs)` : worst
}

function verdictCell(v: RegressionVerdict): string {
  const short = v.metric
    .replace(/^latency_/, '')
    .replace(/^proxy_own_/, 'own ')
    .replace(/_ms$/, '')
  const pct = (x: number) => changeText(x, v.change_unit)
  const seen = v.detectable_change === undefined ? '' : `, sees ${pct(v.detectable_change)}`
  return `${short} ${pct(v.change)} [${pct(v.interval.low)}, ${pct(v.interval.high)}${seen}] ${v.verdict}`
}

export function formatCiTable(rows: readonly CiRow[]): string {
  const header = [
    'tier',
    'status',
    'p95 ms (limit)',
    'req/s (min)',
    'errors (max)',
    "proxy's own p50/p95 ms",
    'regression vs ci/baselines [interval, smallest change it sees]',
  ]
  const lines = rows.map(({ summary, summaries, gateNote }) => {
    const byMetric = (prefix: string) => summary.baselines.find((b) => b.metric.startsWith(prefix))
    const lat = byMetric('latency_')
    const rps = byMetric('rps_')
    const err = byMetric('error_rate')
    const timing = summary.totals.server_timing
    const verdicts = summary.regression?.verdicts ?? []
    return [
      `${summary.run.tier} (x${summary.run.duration_scale})`,
      tierStatus(summaries.length > 0 ? summaries : [summary]),
      `${fmt(lat?.actual, 2)} (<${lat?.threshold ?? '?'})${lat?.passed ? '' : ' FAIL'}`,
      `${fmt(rps?.actual, 2)} (>=${rps?.threshold ?? '?'})${rps?.passed ? '' : ' FAIL'}`,
      `${err?.actual === null || err?.actual === undefined ? 'n/a' : `${(err.actual * 100).toFixed(2)} %`} (<${((err?.threshold ?? 0) * 100).toFixed(0)} %)${err?.passed ? '' : ' FAIL'}`,
      timing
        ? `${fmt(timing.proxy_ms.p50, 2)}/${fmt(timing.proxy_ms.p95, 2)} of ${fmt(summary.totals.latency_ms?.p50, 2)}/${fmt(summary.totals.latency_ms?.p95, 2)}`
        : '-',
      verdicts.length > 0 ? verdicts.map(verdictCell).join('; ') : (gateNote ?? '-'),
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ')
  const mock = rows.find((r) => r.summary.run.mock_latency)?.summary.run
  const notice = mock?.mock_latency ? mockLatencyText(mock.mock_latency, mock.mock_profile) : null
  return [
    ...(notice ? [`! ${notice.headline} ${notice.body}`, ''] : []),
    row(header),
    row(widths.map((w) => '-'.repeat(w))),
    ...lines.map(row),
  ].join('\n')
}
