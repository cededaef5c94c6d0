// The capacity report's sections: the masthead with the answer (capacity per instance, what binds,
// the held-out check), the instances table, the model's ceilings, the USL fits, every step of every
// sweep, the workload and the run environment. Every value is escaped or formatted into digits.
import type { Dist } from '../../mock-providers/src/distribution.ts'
import type { CapacitySummary, HeldOut, StepPoint, Sweep } from './capacity-summary.ts'
import { escapeHtml } from './escape.ts'
import {
  formatDuration,
  formatInt,
  formatMargin,
  formatMs,
  formatNumber,
  formatPercent,
  formatRate,
  formatTimestamp,
} from './format.ts'
import { definitionList, type Kpi, kpi } from './sections.ts'
import { badge, num, section } from './tables.ts'

const DASH = '\u2014'
const RESOURCE_TEXT: Record<string, string> = {
  connections: 'upstream connections (pool limit)',
  cpu: 'CPU',
  memory: 'memory per concurrent stream',
  file_descriptors: 'file descriptors',
  machine_cpu: "the test machine's CPU (shared)",
  generator: 'the load generator',
  slo: 'the SLO: the knee its sweep measured',
  unknown: 'unknown',
}
export const resourceText = (r: string | null) => (r === null ? DASH : (RESOURCE_TEXT[r] ?? r))
const workers = (w: number) => `${w} worker${w > 1 ? 's' : ''}`
const rps = (v: number | null | undefined) => formatRate(v, 'req/s')
const n = (v: number | null | undefined) => (v === null || v === undefined ? DASH : formatNumber(v))

function table(head: string[], rows: string[], foot = ''): string {
  const th = head.map((h, i) => `<th${i > 0 ? ' class="num"' : ''}>${h}</th>`).join('')
  return `<div class="table-wrap"><table><thead><tr>${th}</tr></thead><tbody>${rows.join('\n')}</tbody>${foot}</table></div>`
}

function errorCell(e: number | null, goal: number): string {
  if (e === null) return num(DASH)
  return `<td class="num ${Math.abs(e) <= goal ? 'good' : 'bad'}">${formatMargin(e)}</td>`
}

export function capacityHeader(s: CapacitySummary): string {
  const verdict = s.status === 'completed' ? 'passed' : 'broken'
  const slo = [
    s.slo.ttft_p95_ms === null ? '' : `TTFT p95 \u2264 ${formatMs(s.slo.ttft_p95_ms)}`,
    s.slo.itl_p95_ms === null ? '' : `ITL p95 \u2264 ${formatMs(s.slo.itl_p95_ms)}`,
    s.slo.latency_p95_ms === null ? '' : `latency p95 \u2264 ${formatMs(s.slo.latency_p95_ms)}`,
    `errors \u2264 ${formatPercent(s.slo.error_rate_max)}`,
  ].filter(Boolean)
  const facts: [string, string][] = [
    ['Workload', escapeHtml(s.workload.scenarios.map((x) => x.name).join(', '))],
    ['Mock profile', s.run.mock_profile ? escapeHtml(s.run.mock_profile) : 'none (external target)'],
    ['SLO', `${escapeHtml(slo.join(', '))} <span class="note">(${escapeHtml(s.slo.source)})</span>`],
    [
      'Steady window',
      `${formatDuration(s.workload.window_s)} after ${formatDuration(s.workload.warmup_s)} warm-up`,
    ],
    ['Duration', formatDuration(s.run.duration_s)],
    ['Started', formatTimestamp(s.run.started_at)],
  ]
  const kpis: Kpi[] = s.sweeps.map((w) => ({
    label: `One instance, ${workers(w.workers)}`,
    value: rps(w.knee.rate),
    detail: `${w.knee.bracketed ? 'knee' : 'held at every rate: at least'}; binds: ${escapeHtml(resourceText(w.binding.resource))}`,
    state: w.knee.rate === null ? 'bad' : 'neutral',
  }))
  const t = s.truth
  if (t) {
    kpis.push({
      label: 'Held-out check',
      value: t.within_goal === null ? 'n/a' : t.within_goal ? 'within 15 %' : 'outside 15 %',
      detail: `knee ${formatMargin(t.knee_error)}, latency ${formatMargin(t.latency_check?.error.latency_mean ?? null)}`,
      state: t.within_goal === null ? 'neutral' : t.within_goal ? 'good' : 'bad',
    })
  }
  const reason = s.status_reason ? `<p class="verdict-reason">${escapeHtml(s.status_reason)}</p>` : ''
  return `<header class="masthead status-${verdict}">
<div class="verdict"><span class="verdict-badge">${s.status === 'completed' ? 'Plan' : 'Broken'}</span><div><h1>Capacity plan</h1><p class="verdict-hint">How much one proxy instance carries on realistic LLM traffic, what binds, and how many instances a demand needs. Run <code>${escapeHtml(s.run.id)}</code>.</p>${reason}</div></div>
${definitionList(facts)}
<div class="kpis">${kpis.map(kpi).join('')}</div>
</header>`
}

function heldOutRow(h: HeldOut, goal: number): string {
  return `<tr><th scope="row">${rps(h.rate)}</th>${num(formatMs(h.predicted.latency_mean_ms))}${num(formatMs(h.measured.latency_mean_ms))}${errorCell(h.error.latency_mean, goal)}${num(formatMs(h.predicted.ttft_p95_ms))}${num(formatMs(h.measured.ttft_p95_ms))}${errorCell(h.error.ttft_p95, goal)}${num(formatMs(h.predicted.usl_latency_mean_ms))}</tr>`
}

export function truthSection(s: CapacitySummary): string {
  const t = s.truth
  if (!t) return ''
  const goal = t.goal
  const lead = `Fitted on ${formatInt(t.fit_points)} rates up to ${rps(t.fit_max_rps)} with ${workers(t.workers)}; the model saw nothing above. Goal: within ${formatPercent(goal)}.`
  const summaryRows = [
    `<tr><th scope="row">Knee</th>${num(rps(t.predicted_knee_rps))}${num(rps(t.measured_knee_rps))}${errorCell(t.knee_error, goal)}</tr>`,
    `<tr><th scope="row">Latency mean at ${t.latency_check ? rps(t.latency_check.rate) : DASH}</th>${num(formatMs(t.latency_check?.predicted.latency_mean_ms))}${num(formatMs(t.latency_check?.measured.latency_mean_ms))}${errorCell(t.latency_check?.error.latency_mean ?? null, goal)}</tr>`,
    `<tr><th scope="row">Ceiling (${escapeHtml(resourceText(t.predicted_binding))})</th>${num(rps(t.predicted_max_rps))}${num(rps(s.sweeps[0]?.max_throughput_rps))}${errorCell(t.predicted_max_rps === null || !s.sweeps[0]?.max_throughput_rps ? null : (t.predicted_max_rps - s.sweeps[0].max_throughput_rps) / s.sweeps[0].max_throughput_rps, goal)}</tr>`,
  ]
  const usl = t.usl
    ? `<p class="note">USL on the same lower rates: \u03bb ${param(t.usl.lambda)}, \u03c3 ${param(t.usl.sigma)}, \u03ba ${param(t.usl.kappa)}${t.usl.peak?.n ? `, peak ${rps(t.usl.peak.x)} at ${formatNumber(t.usl.peak.n)} in flight` : ': no contention visible at these rates, so it cannot place the knee; the configured limits do'}.</p>`
    : ''
  const contended = t.saturated_steps
    ? `<p class="note"><strong>The machine's CPU was saturated (other processes included) during ${formatInt(t.saturated_steps)} of the ${formatInt(t.held_out.length)} held-out steps.</strong> The model knows the proxy's own limits (its pools, one core per worker, its memory), not the load of other processes on a shared machine: where they starve the proxy, the measured knee falls short of the prediction and the step says so (what binds: the test machine's CPU).</p>`
    : ''
  return section(
    'truth',
    'Held-out check: predicted against measured',
    `${table(['', 'Predicted', 'Measured', 'Error'], summaryRows)}
<h3 class="subhead">Every rate above the fit</h3>
${table(
  [
    'Rate',
    'Latency mean, predicted',
    'measured',
    'error',
    'TTFT p95, predicted',
    'measured',
    'error',
    'USL latency mean',
  ],
  t.held_out.map((h) => heldOutRow(h, goal)),
)}
${contended}${usl}<p class="note">Method: ${escapeHtml(t.method)}</p>`,
    lead,
  )
}

/** USL parameters span orders of magnitude: small ones in scientific notation (kappa 5.9e-6). */
function param(v: number): string {
  if (v === 0) return '0'
  return Math.abs(v) < 0.001
    ? v.toExponential(2).replace('e-', 'e\u2212')
    : formatNumber(Math.round(v * 1e4) / 1e4)
}

export function sizingSection(s: CapacitySummary): string {
  const z = s.sizing
  if (!z) return ''
  const head = ['Demand', 'Rate', ...z.options.map((o) => `Instances, ${workers(o.workers)}`), 'Recommended']
  const rows = z.rows.map((r) => {
    const demand = r.users === null ? 'rate given' : `${formatInt(r.users)} users`
    const cells = r.instances.map((i) => num(i.instances === null ? DASH : formatInt(i.instances)))
    const best = r.recommended
      ? `${formatInt(r.recommended.instances)} \u00d7 ${workers(r.recommended.workers)}`
      : DASH
    return `<tr><th scope="row">${demand}</th>${num(rps(r.rate_rps))}${cells.join('')}${num(`<strong>${best}</strong>`)}</tr>`
  })
  const options = z.options.map((o) => {
    const pools = Object.entries(o.pool_per_worker)
      .map(([p, v]) => `${escapeHtml(p)} ${formatInt(v)}`)
      .join(', ')
    return `<tr><th scope="row">${workers(o.workers)}</th>${num(rps(o.capacity_rps))}<td>${escapeHtml(resourceText(o.binding))}</td>${num(rps(o.planned_rps))}${num(rps(o.capacity_with_pools_rps))}<td>${escapeHtml(resourceText(o.binding_with_pools))}</td><td>${pools || DASH}</td></tr>`
  })
  return section(
    'instances',
    'Instances needed',
    `${table(head, rows)}
<h3 class="subhead">Per instance</h3>
<div class="table-wrap"><table><thead><tr><th>Instance</th><th class="num">Ceiling</th><th>Binds</th><th class="num">Planned (headroom)</th><th class="num">Ceiling with the pools below</th><th>Then binds</th><th>max_connections per worker (Little's law)</th></tr></thead><tbody>${options.join('\n')}</tbody></table></div>
<p class="note">Users become a rate through their cycle: one request, its answer (${formatNumber(z.response_time_s)} s measured), then ${formatNumber(z.think_time_s)} s of thinking: rate = users / ${formatNumber(z.response_time_s + z.think_time_s)} s. Each instance is planned at ${formatPercent(1 - z.headroom)} of its ceiling (headroom ${formatPercent(z.headroom)}), one core per worker and ${formatInt(z.instance_memory_mb)} MB. The recommended pool carries the next resource's ceiling: L + 3\u221aL connections per provider per worker, L = rate \u00d7 connections in use per req/s.</p>`,
    'The lowest resource ceiling of an instance, or the SLO knee its sweep measured when that is lower, less the headroom, divides the demand.',
  )
}

export function boundsSection(s: CapacitySummary): string {
  const rows = s.sweeps.flatMap((w) => {
    const lowest = Math.min(...w.bounds.map((b) => b.rate ?? Number.POSITIVE_INFINITY))
    return w.bounds.map(
      (b) =>
        `<tr${b.rate === lowest ? ' class="row-fail"' : ''}><th scope="row">${workers(w.workers)}</th><td>${escapeHtml(resourceText(b.resource))}${b.rate === lowest ? ` ${badge('fail', 'binds')}` : ''}</td>${num(b.rate === null ? 'never' : rps(b.rate))}<td>${escapeHtml(b.detail)}</td></tr>`,
    )
  })
  const measured = s.sweeps
    .map(
      (w) =>
        `<li><strong>${workers(w.workers)}</strong>: ${escapeHtml(resourceText(w.binding.resource))}. ${escapeHtml(w.binding.evidence)}</li>`,
    )
    .join('')
  return section(
    'binding',
    'What binds',
    `<ul class="notes">${measured}</ul>
<h3 class="subhead">The model's ceilings</h3>
<div class="table-wrap"><table><thead><tr><th>Instance</th><th>Resource</th><th class="num">Ceiling</th><th>From</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`,
    'Measured: the resource nearest its limit at the first rate that broke the SLO. Modelled: each resource\u2019s ceiling from per-request demands at the rates that held.',
  )
}

export function uslSection(s: CapacitySummary): string {
  const fits = [
    ...s.sweeps.map((w) => ({ name: `Concurrency, ${workers(w.workers)}`, fit: w.usl })),
    ...(s.usl_workers ? [{ name: 'Workers (max throughput)', fit: s.usl_workers.fit }] : []),
  ]
  const rows = fits.map(({ name, fit }) =>
    fit
      ? `<tr><th scope="row">${escapeHtml(name)}</th>${num(param(fit.lambda))}${num(param(fit.sigma))}${num(fit.kappa_fixed ? '0 (held)' : param(fit.kappa))}${num(formatInt(fit.points))}${num(n(Math.round(fit.r2 * 1000) / 1000))}${num(n(fit.rmse))}${num(`${formatNumber(fit.mape)} %`)}${num(fit.peak ? `${rps(fit.peak.x)}${fit.peak.n ? ` at ${formatNumber(fit.peak.n)}` : ' (ceiling)'}` : 'none')}</tr>`
      : `<tr><th scope="row">${escapeHtml(name)}</th><td colspan="8">too few points to fit</td></tr>`,
  )
  const points = s.usl_workers?.points.map((p) => `${workers(p.workers)} ${rps(p.x)}`).join(', ')
  return section(
    'usl',
    'Universal Scalability Law',
    `${table(['Fit over', '\u03bb (req/s per unit)', '\u03c3 contention', '\u03ba coherency', 'Points', 'R\u00b2', 'RMSE req/s', 'Mean error', 'Peak'], rows)}
<p class="note">X(N) = \u03bbN / (1 + \u03c3(N\u22121) + \u03baN(N\u22121)), fitted by Levenberg-Marquardt. ${points ? `Max throughput by workers: ${escapeHtml(points)}.` : ''} Two worker counts identify \u03c3 only (\u03ba held at 0). With a hard pool limit throughput rises linearly and then stops: the USL smooths that corner, so its \u03c3 describes the limit, not lock contention.</p>`,
  )
}

function stepRow(p: StepPoint): string {
  const r = p.resources
  const v =
    p.verdict === 'pass'
      ? badge('pass', 'holds')
      : p.verdict === 'fail'
        ? badge('fail', 'breaks')
        : badge('warn', 'inconclusive')
  const pair = (a: number | null | undefined, b: number | null | undefined) =>
    `${formatMs(a)} / ${formatMs(b)}`
  const pct = (value: number | null) => (value === null ? DASH : `${formatNumber(value)} %`)
  const pool = r.upstream_limit
    ? `${formatNumber(r.upstream_in_use ?? 0)} / ${formatInt(r.upstream_limit)}`
    : DASH
  return `<tr class="${p.verdict === 'fail' ? 'row-fail' : ''}"><th scope="row">${stepName(p)}</th>${num(rps(p.achieved_rps))}${num(pair(p.latency_ms?.p50, p.latency_ms?.p95))}${num(pair(p.ttft_ms?.p50, p.ttft_ms?.p95))}${num(formatMs(p.itl_ms?.p95))}${num(formatPercent(p.error_rate))}${num(formatNumber(p.concurrency.mean))}${num(pool)}${num(pct(r.proxy_cpu_percent))}${num(r.proxy_rss_mb === null ? DASH : `${formatNumber(r.proxy_rss_mb)} MB`)}${num(formatMs(r.event_loop_delay_p99_ms))}${num(pct(r.machine_busy_percent))}<td>${v}</td></tr>`
}

function stepName(p: StepPoint): string {
  return p.target_rps === null
    ? `max, ${formatInt(p.users ?? 0)} users`
    : `${rps(p.target_rps)}${p.phase === 'refine' ? ' (bisect)' : ''}`
}

export function sweepSection(w: Sweep): string {
  const head = [
    'Step',
    'Achieved',
    'Latency p50 / p95',
    'TTFT p50 / p95',
    'ITL p95',
    'Errors',
    'Streams',
    'Upstream in use',
    'Proxy CPU',
    'RSS',
    'Loop delay p99',
    'Machine CPU',
    'SLO',
  ]
  const knee =
    w.knee.rate === null
      ? 'The SLO never held.'
      : `Knee ${w.knee.bracketed ? '' : 'at least '}${rps(w.knee.rate)} (achieved ${rps(w.knee.achieved_rps)}), first break ${rps(w.knee.first_fail_rate)}.`
  const why = w.points
    .filter((p) => p.reasons.length > 0)
    .map((p) => `<li><strong>${stepName(p)}</strong>: ${escapeHtml(p.reasons.join('; '))}</li>`)
    .join('')
  return section(
    `sweep-${w.workers}`,
    `Sweep, ${workers(w.workers)}`,
    `${table(head, w.points.map(stepRow))}
${why ? `<h3 class="subhead">Why steps broke</h3><ul class="notes">${why}</ul>` : ''}
<p class="note">Latencies of the requests started in each step's window; streams: requests in flight at the generator; CPU in % of one core (proxy process tree); loop delay: the proxy's event-loop delay p99 over its last minute; machine CPU: every process on the machine, in % of one core.${w.knee.note ? ` ${escapeHtml(w.knee.note)}.` : ''}</p>`,
    `${knee} Maximum throughput (closed loop): ${rps(w.max_throughput_rps)}.`,
  )
}

export function workloadSection(s: CapacitySummary): string {
  const p = s.workload.profile
  const env = s.environment
  const items: [string, string][] = [
    ['Scenarios', escapeHtml(s.workload.scenarios.map((x) => `${x.name} \u00d7${x.weight}`).join(', '))],
    ['Profile', escapeHtml(s.workload.description)],
    [
      'Response cache',
      s.workload.cache === null ? 'the target\u2019s own setting' : s.workload.cache ? 'on' : 'off',
    ],
    ['Latency model', p ? escapeHtml(describeLatency(p.latency)) : 'the target\u2019s own'],
    ['Answer length', p ? escapeHtml(describeLength(p.completion)) : DASH],
    ['Node.js', escapeHtml(env.node_version)],
    ['CPU', `${escapeHtml(env.cpu_model)} \u00d7 ${formatInt(env.cpu_count)}`],
    ['Git commit', env.git_commit ? `<code>${escapeHtml(env.git_commit.slice(0, 12))}</code>` : 'unknown'],
  ]
  const notes = s.notes.length
    ? `<ul class="notes">${s.notes.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>`
    : ''
  return `<section id="workload" class="card"><h2>Workload and environment</h2>${definitionList(items)}
<p class="command"><span>Command</span><code>${escapeHtml(s.run.command)}</code></p>${notes}</section>`
}

/** A mock latency distribution in words: "lognormal, median 600 ms, sigma 0.55, 150 ms-10 s, 1 % Pareto tail". */
export function describeDist(d: Partial<Dist>): string {
  const range =
    d.min !== undefined || d.max !== undefined
      ? `, ${formatMs(d.min ?? 0)}\u2013${d.max === undefined ? '\u221e' : formatMs(d.max)}`
      : ''
  const tail = d.tail
    ? `, ${formatPercent(d.tail.p)} tail \u00d7${d.tail.multiplier ?? `Pareto(${d.tail.pareto_alpha})`}`
    : ''
  switch (d.dist) {
    case 'fixed':
      return formatMs(d.value ?? 0)
    case 'uniform':
      return `uniform ${formatMs(d.min)}\u2013${formatMs(d.max)}`
    case 'normal':
      return `normal ${formatMs(d.mean)} \u00b1 ${formatMs(d.stddev)}${range}${tail}`
    case 'lognormal':
      return `lognormal, median ${formatMs(d.median)}, \u03c3 ${formatNumber(d.sigma ?? 0)}${range}${tail}`
    default:
      return JSON.stringify(d)
  }
}

function describeLatency(latency: unknown): string {
  const l = (latency ?? {}) as { ttft?: Partial<Dist>; itl?: Partial<Dist>; prefill_per_token?: number }
  return `TTFT ${describeDist(l.ttft ?? {})}; ITL ${describeDist(l.itl ?? {})}; prefill ${formatMs(l.prefill_per_token ?? 0)} per prompt token`
}

function describeLength(completion: unknown): string {
  const c = (completion ?? {}) as { min_tokens?: number; max_tokens?: number }
  return `${formatInt(c.min_tokens ?? 0)}\u2013${formatInt(c.max_tokens ?? 0)} tokens, uniform`
}
