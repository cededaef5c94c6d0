// The chaos report's tables: the phases with their faults, figures and every assertion (what must
// hold, what was measured, the verdict), the events of the run, and the errors by kind.
import type { ChaosPhaseResult, ChaosSummary } from './chaos-summary.ts'
import { escapeHtml } from './escape.ts'
import { formatInt, formatMs, formatNumber, formatPercent } from './format.ts'

function badge(passed: boolean): string {
  return passed
    ? '<span class="badge badge--pass">pass</span>'
    : '<span class="badge badge--fail">fail</span>'
}

function phaseRows(p: ChaosPhaseResult): string {
  const failed = p.assertions.filter((a) => !a.passed).length
  const faults = p.faults.length
    ? `<ul class="faults">${p.faults.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`
    : '<span class="muted">no fault</span>'
  const s = p.stats
  const figures = [
    `${formatInt(s.requests)} requests at ${formatNumber(p.rate)} req/s`,
    `success ${formatPercent(s.success_rate)}`,
    s.latency_ms ? `p99 ${formatMs(s.latency_ms.p99)}` : '',
    s.shed ? `${formatInt(s.shed)} shed` : '',
    s.upstream_attempts === null
      ? ''
      : `${formatInt(s.upstream_failed ?? 0)} of ${formatInt(s.upstream_attempts)} provider calls failed`,
  ].filter(Boolean)
  const verdict =
    p.assertions.length === 0 ? '<span class="badge badge--muted">no assertion</span>' : badge(failed === 0)
  const head = `<tr class="phase-head${failed ? ' row-fail' : ''}" data-phase="${escapeHtml(p.name)}"><th scope="rowgroup">${escapeHtml(p.name)}<div class="muted">${formatNumber(p.start_s)}\u2013${formatNumber(p.end_s)} s</div></th><td>${faults}${p.description ? `<div class="muted">${escapeHtml(p.description)}</div>` : ''}</td><td>${figures.map(escapeHtml).join(' \u00b7 ')}</td><td>${verdict}</td></tr>`
  const rows = p.assertions.map(
    (a) =>
      `<tr class="assertion${a.passed ? '' : ' row-fail'}"><td><code>${escapeHtml(a.kind)}</code></td><td>${escapeHtml(a.expected)}</td><td>${escapeHtml(a.actual)}</td><td>${badge(a.passed)}</td></tr>`,
  )
  return `<tbody>${head}${rows.join('')}</tbody>`
}

export function phaseTable(summary: ChaosSummary): string {
  const all = summary.phases.flatMap((p) => p.assertions)
  const failed = all.filter((a) => !a.passed).length
  const lead = failed
    ? `<strong class="bad">${failed} of ${all.length}</strong> assertions failed.`
    : `All ${all.length} assertions held.`
  return `<section id="phases" class="card"><h2>Phases and assertions</h2><p class="lead">${lead} A request belongs to the phase in which it was meant to start; a failure, to the phase in which it happened.</p><div class="table-wrap"><table class="phases">
<thead><tr><th>Phase / assertion</th><th>Faults / expected</th><th>Figures / actual</th><th>Verdict</th></tr></thead>
${summary.phases.map(phaseRows).join('\n')}</table></div></section>`
}

export function eventTable(summary: ChaosSummary): string {
  if (summary.events.length === 0) return ''
  const rows = summary.events.map(
    (e) =>
      `<tr><td class="num">${formatNumber(e.t)} s</td><td>${escapeHtml(e.kind)}</td><td>${escapeHtml(e.text)}</td></tr>`,
  )
  return `<section id="events" class="card"><h2>Events</h2><div class="table-wrap"><table class="narrow"><thead><tr><th class="num">Time</th><th>Kind</th><th>What happened</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`
}

export function chaosErrorTable(summary: ChaosSummary): string {
  const entries = Object.entries(summary.errors_by_kind)
    .filter(([, n]) => n > 0)
    .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : 1))
  const total = summary.phases.reduce((sum, p) => sum + p.stats.requests, 0)
  if (entries.length === 0)
    return '<section id="errors" class="card"><h2>Errors by kind</h2><p class="empty">No request failed.</p></section>'
  const rows = entries.map(
    ([kind, n]) =>
      `<tr><td><code>${escapeHtml(kind)}</code></td><td class="num">${formatInt(n)}</td><td class="num">${formatPercent(total ? n / total : 0)}</td></tr>`,
  )
  return `<section id="errors" class="card"><h2>Errors by kind</h2><div class="table-wrap"><table class="narrow"><thead><tr><th>Kind</th><th class="num">Count</th><th class="num">Share of requests</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`
}
