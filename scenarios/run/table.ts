// The text summary a run prints: verdict, baselines with margins, totals and scenarios.
import type { RunSummary } from '../../reports/src/summary.ts'

const pad = (value: string, width: number) => value.padEnd(width)
const num = (value: number | undefined | null, digits = 1) =>
  value === undefined || value === null ? '-' : value.toFixed(digits)

export function formatRunTable(summary: RunSummary, reportPath?: string): string {
  const lines: string[] = []
  const { run, totals } = summary
  lines.push(
    `${summary.status.toUpperCase()}  ${run.tier} tier, ${run.engine} engine, ${run.load_model} model, ${run.duration_s} s (scale ${run.duration_scale}), seed ${run.seed}`,
  )
  if (summary.status_reason) lines.push(`  ${summary.status_reason}`)
  lines.push('')
  lines.push(`  ${pad('baseline', 58)} ${pad('actual', 10)} ${pad('margin', 8)} result`)
  for (const b of summary.baselines) {
    const actual =
      b.actual === null ? 'n/a' : b.unit === 'ratio' ? `${(b.actual * 100).toFixed(2)} %` : num(b.actual, 2)
    const margin = b.margin === null ? '-' : `${b.margin >= 0 ? '+' : ''}${(b.margin * 100).toFixed(0)} %`
    lines.push(`  ${pad(b.name, 58)} ${pad(actual, 10)} ${pad(margin, 8)} ${b.passed ? 'pass' : 'FAIL'}`)
  }
  for (const v of summary.regression?.verdicts ?? []) {
    const change = `${v.change >= 0 ? '+' : ''}${(v.change * 100).toFixed(1)} %`
    const interval = `[${(v.interval.low * 100).toFixed(1)}, ${(v.interval.high * 100).toFixed(1)}] %`
    lines.push(
      `  ${pad(`regression ${v.metric} vs ${num(v.baseline, 2)}`, 58)} ${pad(change, 10)} ${pad(interval, 8)} ${v.verdict}`,
    )
  }
  lines.push('')
  const lat = totals.latency_ms
  lines.push(
    `  requests ${totals.requests}, errors ${totals.errors} (${(totals.error_rate * 100).toFixed(2)} %), ${num(totals.rps, 2)} req/s` +
      (totals.dropped_iterations !== undefined ? `, dropped ${totals.dropped_iterations}` : ''),
  )
  if (lat)
    lines.push(
      `  latency ms: p50 ${num(lat.p50, 2)}  p90 ${num(lat.p90, 2)}  p95 ${num(lat.p95, 2)}  p99 ${num(lat.p99, 2)}  max ${num(lat.max, 2)}`,
    )
  if (totals.stream) {
    const s = totals.stream
    lines.push(
      `  streams ${s.streams}: TTFT p50 ${num(s.ttft_ms.p50, 2)} / p95 ${num(s.ttft_ms.p95, 2)} ms, ITL p50 ${num(s.itl_ms.p50, 2)} / p95 ${num(s.itl_ms.p95, 2)} ms, truncated ${s.truncated}`,
    )
  }
  lines.push('')
  lines.push(
    `  ${pad('scenario', 12)} ${pad('weight', 7)} ${pad('requests', 9)} ${pad('errors', 7)} ${pad('p50 ms', 8)} ${pad('p95 ms', 8)}`,
  )
  for (const s of summary.scenarios) {
    if (s.skipped) {
      lines.push(`  ${pad(s.name, 12)} skipped: ${s.skipped.reason}`)
      continue
    }
    lines.push(
      `  ${pad(s.name, 12)} ${pad(num(s.weight, 2), 7)} ${pad(String(s.requests), 9)} ${pad(String(s.errors), 7)} ${pad(num(s.latency_ms?.p50, 2), 8)} ${pad(num(s.latency_ms?.p95, 2), 8)}`,
    )
  }
  const kinds = Object.entries(summary.errors_by_kind)
  if (kinds.length > 0) lines.push(`  errors by kind: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`)
  if (summary.generator?.limited) lines.push(`  ! ${summary.generator.note ?? 'the generator was the limit'}`)
  if (reportPath) lines.push('', `  report: ${reportPath}`)
  return lines.map((line) => line.trimEnd()).join('\n')
}
