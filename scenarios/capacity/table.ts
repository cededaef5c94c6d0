// The text summary `npm run capacity` prints: capacity per instance and what binds, the held-out
// check, and the instances table.
import type { CapacitySummary } from '../../reports/src/capacity-summary.ts'

const f = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined ? '-' : v.toFixed(digits)
const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %`
const w = (n: number) => `${n} worker${n > 1 ? 's' : ''}`
/** A sizing option's binding: a resource, or `slo` when the knee its sweep measured is the lower ceiling. */
const binds = (b: string | null) => (b === 'slo' ? 'the measured SLO knee' : (b ?? '-'))

export function formatCapacityTable(s: CapacitySummary, reportPath?: string): string {
  const lines: string[] = []
  lines.push(
    `${s.status.toUpperCase()}  capacity plan, ${s.run.duration_s} s, seed ${s.run.seed}, time scale ${s.run.time_scale}`,
  )
  if (s.status_reason) lines.push(`  ${s.status_reason}`)
  lines.push('')
  lines.push(
    `  ${'instance'.padEnd(12)} ${'max req/s'.padEnd(10)} ${'knee req/s'.padEnd(11)} ${'streams'.padEnd(8)} ${'TTFT p95'.padEnd(9)} binds`,
  )
  for (const sweep of s.sweeps) {
    const knee = sweep.points.find((p) => p.target_rps === sweep.knee.rate)
    lines.push(
      `  ${w(sweep.workers).padEnd(12)} ${f(sweep.max_throughput_rps).padEnd(10)} ${`${sweep.knee.bracketed ? '' : '>='}${f(sweep.knee.rate)}`.padEnd(11)} ${f(knee?.concurrency.mean, 0).padEnd(8)} ${`${f(knee?.ttft_ms?.p95, 0)} ms`.padEnd(9)} ${sweep.binding.resource}`,
    )
    lines.push(`    ${sweep.binding.evidence}`)
  }
  const usl = s.sweeps[0]?.usl
  if (usl) {
    lines.push(
      `  USL (concurrency, ${w(s.sweeps[0].workers)}): lambda ${usl.lambda.toPrecision(3)}, sigma ${usl.sigma.toPrecision(3)}, kappa ${usl.kappa.toPrecision(3)}, R2 ${usl.r2.toFixed(3)}, mean error ${usl.mape.toFixed(1)} %`,
    )
  }
  const t = s.truth
  if (t) {
    lines.push('')
    lines.push(
      `  held-out check (fit on ${t.fit_points} rates up to ${f(t.fit_max_rps)} req/s, ${w(t.workers)}):`,
    )
    lines.push(
      `    knee      predicted ${f(t.predicted_knee_rps)} req/s, measured ${f(t.measured_knee_rps)} req/s, error ${pct(t.knee_error)}`,
    )
    const c = t.latency_check
    if (c)
      lines.push(
        `    latency   at ${f(c.rate)} req/s: mean predicted ${f(c.predicted.latency_mean_ms, 0)} ms, measured ${f(c.measured.latency_mean_ms, 0)} ms, error ${pct(c.error.latency_mean)}; TTFT p95 ${f(c.predicted.ttft_p95_ms, 0)} vs ${f(c.measured.ttft_p95_ms, 0)} ms (${pct(c.error.ttft_p95)})`,
      )
    lines.push(
      `    ${t.within_goal === null ? 'not decidable: a knee or a rate below it is missing' : `${t.within_goal ? 'within' : 'OUTSIDE'} the ${t.goal * 100} % goal`}${t.saturated_steps ? ` (the machine's CPU was saturated during ${t.saturated_steps} of ${t.held_out.length} held-out steps)` : ''}`,
    )
  }
  const z = s.sizing
  if (z) {
    lines.push('')
    lines.push(
      `  instances (headroom ${z.headroom * 100} %, think time ${z.think_time_s} s, response ${z.response_time_s} s):`,
    )
    for (const o of z.options)
      lines.push(
        `    ${w(o.workers)}: ceiling ${f(o.capacity_rps)} req/s (${binds(o.binding)}), planned ${f(o.planned_rps)} req/s; with max_connections ${
          Object.entries(o.pool_per_worker)
            .map(([p, v]) => `${p} ${v}`)
            .join(', ') || '-'
        } per worker: ${f(o.capacity_with_pools_rps)} req/s (${binds(o.binding_with_pools)})`,
      )
    for (const r of z.rows) {
      const demand = r.users === null ? 'rate' : `${r.users} users`
      const options = r.instances.map((i) => `${i.instances ?? '-'} x ${w(i.workers)}`).join(', ')
      lines.push(`    ${demand.padEnd(14)} ${`${f(r.rate_rps)} req/s`.padEnd(14)} ${options}`)
    }
  }
  for (const note of s.notes) lines.push(`  ! ${note}`)
  if (reportPath) lines.push('', `  report: ${reportPath}`)
  return lines.join('\n')
}
