// The per-phase table a chaos run prints: each phase with its faults and figures, then each assertion
// with its verdict, what must hold and what was measured.
import type { ChaosSummary } from '../../reports/src/chaos-summary.ts'

export function formatChaosTable(summary: ChaosSummary, reportPath: string): string {
  const lines: string[] = []
  const { run } = summary
  const scale = run.time_scale === 1 ? '' : `, time scale ${run.time_scale}`
  lines.push(
    `chaos ${run.scenario}: ${summary.status.toUpperCase()} (${run.duration_s.toFixed(0)} s${scale})`,
  )
  if (summary.status_reason && summary.status === 'broken') lines.push(`  ${summary.status_reason}`)
  for (const p of summary.phases) {
    const s = p.stats
    const success = s.success_rate === null ? '-' : `${(s.success_rate * 100).toFixed(2)} %`
    const p99 = s.latency_ms ? `, p99 ${fmtMs(s.latency_ms.p99)}` : ''
    lines.push('')
    const shed = s.shed ? `, ${s.shed} shed` : ''
    const upstream =
      s.upstream_attempts === null
        ? ''
        : `; ${s.upstream_failed} of ${s.upstream_attempts} provider calls failed`
    lines.push(
      `  ${p.name} [${p.start_s}-${p.end_s} s] ${s.requests} requests, ${success} ok${p99}${shed}${upstream}`,
    )
    for (const f of p.faults) lines.push(`    fault: ${f}`)
    // A broken run's evidence is incomplete: its verdicts are in the report, not worth a line each.
    if (summary.status === 'broken') continue
    for (const a of p.assertions) {
      lines.push(`    ${a.passed ? 'PASS' : 'FAIL'}  ${a.kind.padEnd(16)} ${a.expected}`)
      lines.push(`          ${' '.repeat(16)} actual: ${a.actual}`)
    }
  }
  const all = summary.phases.flatMap((p) => p.assertions)
  lines.push('')
  lines.push(
    `  ${all.filter((a) => a.passed).length} of ${all.length} assertions held; report: ${reportPath}`,
  )
  return lines.join('\n')
}

function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`
}
