// The report's tables: baselines, scenarios, errors by kind, regression verdicts, circuit breakers.
// Every value from the summary is escaped here or formatted into digits first.
import { escapeHtml } from './escape.ts'
import {
  changeText,
  formatInt,
  formatMargin,
  formatMs,
  formatNumber,
  formatPercent,
  formatValue,
} from './format.ts'
import { streamTable } from './streams.ts'
import type { BaselineResult, RegressionVerdict, RunSummary, ScenarioResult } from './summary.ts'

const DASH = '\u2014'

export function badge(kind: 'pass' | 'fail' | 'warn' | 'muted', text: string): string {
  return `<span class="badge badge--${kind}">${escapeHtml(text)}</span>`
}

export function section(id: string, title: string, body: string, lead = ''): string {
  const intro = lead ? `<p class="lead">${lead}</p>` : ''
  return `<section id="${id}" class="card"><h2>${escapeHtml(title)}</h2>${intro}${body}</section>`
}

export function num(text: string): string {
  return `<td class="num">${text}</td>`
}

export function baselineTable(baselines: BaselineResult[]): string {
  if (baselines.length === 0) {
    return section('baselines', 'Baselines', '<p class="empty">This run checked no baselines.</p>')
  }
  const rows = baselines.map((b) => {
    const margin = b.margin === null ? DASH : formatMargin(b.margin)
    const marginClass = b.margin === null ? '' : b.margin < 0 ? ' bad' : ' good'
    return `<tr class="${b.passed ? 'row-pass' : 'row-fail'}">
<td>${b.passed ? badge('pass', 'pass') : badge('fail', 'fail')}</td>
<td>${escapeHtml(b.name)}</td>
<td><code>${escapeHtml(b.metric)}</code></td>
${num(`${escapeHtml(b.comparator)} ${formatValue(b.threshold, b.unit)}`)}
${num(formatValue(b.actual, b.unit))}
<td class="num${marginClass}">${margin}</td>
</tr>`
  })
  const failed = baselines.filter((b) => !b.passed).length
  const lead = failed
    ? `<strong class="bad">${failed} of ${baselines.length}</strong> baselines failed.`
    : `All ${baselines.length} baselines held.`
  return section(
    'baselines',
    'Baselines',
    `<div class="table-wrap"><table>
<thead><tr><th>Result</th><th>Check</th><th>Metric</th><th class="num">Threshold</th><th class="num">Actual</th><th class="num">Margin</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>
<p class="note">Margin: headroom as a share of the threshold; negative means the threshold was breached.</p>`,
    lead,
  )
}

function scenarioRow(s: ScenarioResult, totalWeight: number): string {
  const share = totalWeight > 0 ? formatPercent(s.weight / totalWeight) : formatNumber(s.weight)
  const name = `<th scope="row">${escapeHtml(s.name)}</th>`
  if (s.skipped) {
    return `<tr class="row-skipped">${name}${num(share)}<td colspan="8">${badge('warn', 'skipped')} ${escapeHtml(s.skipped.reason)}</td></tr>`
  }
  const l = s.latency_ms
  return `<tr>${name}${num(share)}${num(formatInt(s.requests))}${num(formatNumber(s.rps))}${num(formatInt(s.errors))}<td class="num${s.error_rate > 0 ? ' bad' : ''}">${formatPercent(s.error_rate)}</td>${num(formatMs(l?.p50))}${num(formatMs(l?.p95))}${num(formatMs(l?.p99))}${num(formatMs(l?.max))}</tr>`
}

export function scenarioTable(summary: RunSummary): string {
  const { scenarios, totals } = summary
  if (scenarios.length === 0) {
    return section('scenarios', 'Scenarios', '<p class="empty">No scenario results were recorded.</p>')
  }
  const totalWeight = scenarios.reduce((sum, s) => sum + s.weight, 0)
  const rows = scenarios.map((s) => scenarioRow(s, totalWeight))
  const all: ScenarioResult = { ...totals, name: 'All scenarios', weight: totalWeight }
  return section(
    'scenarios',
    'Scenarios',
    `<div class="table-wrap"><table>
<thead><tr><th>Scenario</th><th class="num">Mix</th><th class="num">Requests</th><th class="num">Req/s</th><th class="num">Errors</th><th class="num">Error rate</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">Max</th></tr></thead>
<tbody>${rows.join('\n')}</tbody>
<tfoot>${scenarioRow(all, totalWeight)}</tfoot></table></div>
${streamTable(summary)}`,
  )
}

export function errorTable(summary: RunSummary): string {
  const entries = Object.entries(summary.errors_by_kind)
    .filter(([, count]) => count > 0)
    .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0))
  if (entries.length === 0) {
    return section('errors', 'Errors by kind', '<p class="empty">No request failed.</p>')
  }
  const total = entries.reduce((sum, [, count]) => sum + count, 0)
  const rows = entries.map(([kind, count]) => {
    const share = count / total
    return `<tr><td><code>${escapeHtml(kind)}</code></td>${num(formatInt(count))}<td class="share"><span class="bar"><span style="width:${(share * 100).toFixed(1)}%"></span></span>${formatPercent(share)}</td></tr>`
  })
  return section(
    'errors',
    'Errors by kind',
    `<div class="table-wrap"><table class="narrow">
<thead><tr><th>Kind</th><th class="num">Count</th><th>Share of errors</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`,
    `${formatInt(total)} failed requests of ${formatInt(summary.totals.requests)} (${formatPercent(summary.totals.error_rate)}).`,
  )
}

const VERDICTS: Record<RegressionVerdict['verdict'], 'pass' | 'fail' | 'warn' | 'muted'> = {
  regressed: 'fail',
  improved: 'pass',
  unchanged: 'muted',
  inconclusive: 'warn',
}

export function regressionTable(summary: RunSummary): string {
  const regression = summary.regression
  if (!regression) return notGatedSection(summary.regression_skipped)
  const ref = regression.reference
  const refParts = [
    `<strong>${escapeHtml(ref.name)}</strong>`,
    ref.run_id ? `run <code>${escapeHtml(ref.run_id)}</code>` : '',
    ref.git_commit ? `commit <code>${escapeHtml(ref.git_commit.slice(0, 12))}</code>` : '',
  ].filter(Boolean)
  const rows = regression.verdicts.map((v) => {
    // A rate's change is in percentage points, its values rates; a latency's change is relative.
    const points = v.change_unit === 'points'
    const change = (x: number) => (points ? changeText(x, 'points') : formatMargin(x))
    const value = (x: number) => (points ? formatPercent(x) : formatNumber(x))
    const ci = `${change(v.interval.low)} \u2026 ${change(v.interval.high)} (${formatNumber(v.interval.confidence * 100)} %)`
    return `<tr><td><code>${escapeHtml(v.metric)}</code></td>${num(value(v.baseline))}${num(value(v.current))}${num(change(v.change))}${num(ci)}<td>${badge(VERDICTS[v.verdict], v.verdict)}</td></tr>`
  })
  const body =
    rows.length === 0
      ? '<p class="empty">No metric was compared.</p>'
      : `<div class="table-wrap"><table>
<thead><tr><th>Metric</th><th class="num">Reference</th><th class="num">This run</th><th class="num">Change</th><th class="num">Interval of the change</th><th>Verdict</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`
  return section(
    'regression',
    'Regression against the reference',
    `${body}<p class="note">Method: ${escapeHtml(regression.method)}</p>`,
    `Compared with ${refParts.join(', ')}.`,
  )
}

function notGatedSection(skipped: RunSummary['regression_skipped']): string {
  if (!skipped) return ''
  const required = skipped.required
    ? ' A gate was required (<code>load:ci --require-gate</code>): a run that would otherwise have passed is inconclusive.'
    : ''
  return section(
    'regression',
    'Regression against the reference',
    `<p class="empty">Nothing compared this run with earlier ones: its status does not say whether it regressed.${required}</p>`,
    `Not gated against a baseline: ${escapeHtml(skipped.reason)}.`,
  )
}

export function breakerTable(summary: RunSummary): string {
  const samples = summary.proxy_metrics?.samples.filter((s) => s.breakers) ?? []
  if (samples.length === 0) return ''
  const providers = [...new Set(samples.flatMap((s) => Object.keys(s.breakers!)))].sort()
  const rows = providers.map((provider) => {
    const states = samples.map((s) => ({ t: s.t, state: s.breakers![provider] })).filter((s) => s.state)
    const notClosed = states.filter((s) => s.state !== 'closed')
    const last = states[states.length - 1].state
    const firstOpen = states.find((s) => s.state === 'open')
    const lastBadge =
      last === 'closed' ? badge('pass', 'closed') : badge(last === 'open' ? 'fail' : 'warn', last)
    return `<tr><td>${escapeHtml(provider)}</td><td>${lastBadge}</td>${num(formatPercent(notClosed.length / states.length))}${num(firstOpen ? `${formatNumber(firstOpen.t)} s` : DASH)}</tr>`
  })
  return section(
    'breakers',
    'Circuit breakers',
    `<div class="table-wrap"><table class="narrow">
<thead><tr><th>Provider</th><th>Last state</th><th class="num">Samples not closed</th><th class="num">First opened at</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`,
  )
}
