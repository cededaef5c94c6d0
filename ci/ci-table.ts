// The table load:ci prints: one line per tier with the seed baselines and the regression verdict.
import type { RunSummary } from '../reports/src/summary.ts'

export type CiRow = { dir: string; summary: RunSummary; gateNote: string | null }

const fmt = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined ? 'n/a' : value.toFixed(digits)

export function formatCiTable(rows: readonly CiRow[]): string {
  const header = [
    'tier',
    'status',
    'p95 ms (limit)',
    'req/s (min)',
    'errors (max)',
    'p95 vs baseline [95 % CI]',
    'verdict',
  ]
  const lines = rows.map(({ summary, gateNote }) => {
    const byMetric = (prefix: string) => summary.baselines.find((b) => b.metric.startsWith(prefix))
    const lat = byMetric('latency_')
    const rps = byMetric('rps_')
    const err = byMetric('error_rate')
    const v = summary.regression?.verdicts[0]
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`
    return [
      `${summary.run.tier} (x${summary.run.duration_scale})`,
      summary.status,
      `${fmt(lat?.actual, 2)} (<${lat?.threshold ?? '?'})${lat?.passed ? '' : ' FAIL'}`,
      `${fmt(rps?.actual, 2)} (>=${rps?.threshold ?? '?'})${rps?.passed ? '' : ' FAIL'}`,
      `${err?.actual === null || err?.actual === undefined ? 'n/a' : `${(err.actual * 100).toFixed(2)} %`} (<${((err?.threshold ?? 0) * 100).toFixed(0)} %)${err?.passed ? '' : ' FAIL'}`,
      v ? `${pct(v.change)} [${pct(v.interval.low)}, ${pct(v.interval.high)}]` : '-',
      v ? v.verdict : (gateNote ?? '-'),
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ')
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n')
}
