// chaos summary.json -> one self-contained HTML page, like the tier report: pure (the same summary
// gives the same bytes), offline (uPlot, styles and data inlined), every value escaped.
import { loadAssets } from './assets.ts'
import { buildChaosCharts } from './chaos-charts.ts'
import type { ChaosSummary } from './chaos-summary.ts'
import { chaosErrorTable, eventTable, phaseTable } from './chaos-tables.ts'
import { chaosTimeline, timelineLegend } from './chaos-timeline.ts'
import { chartData, renderChartSlot } from './charts.ts'
import { escapeHtml } from './escape.ts'
import { formatDuration, formatInt, formatNumber, formatPercent, formatTimestamp } from './format.ts'
import { htmlPage } from './page.ts'
import type { RenderOptions } from './render.ts'
import { REPORT_CSS } from './styles.ts'

const CHAOS_CSS = `
.timeline { width: 100%; height: auto; display: block; font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.tl-label { fill: #334155; font-size: 12px; }
.tl-phase { fill: #334155; font-size: 12px; font-weight: 600; }
.tl-tick { fill: #64748b; font-size: 11px; }
.tl-key { display: inline-flex; align-items: center; gap: 4px; margin-right: 14px; white-space: nowrap; }
.tl-key span { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
.phases th[scope=rowgroup] { white-space: nowrap; }
.phase-head th, .phase-head td { background: #f8fafc; border-top: 2px solid var(--line); vertical-align: top; }
.phase-head.row-fail th, .phase-head.row-fail td { background: #fff1f1; }
.assertion td:first-child { padding-left: 24px; }
.faults { margin: 0; padding-left: 18px; }
.muted { color: var(--muted); font-size: 13px; font-weight: 400; }
.config { margin: 0; padding: 12px; background: var(--bg); border-radius: 8px; overflow-x: auto; font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
`

const STATUS_HINT: Record<ChaosSummary['status'], string> = {
  passed: 'Every assertion of every phase held.',
  failed: 'At least one assertion failed: the proxy did not cope with a fault as it must.',
  broken: 'The run itself broke; its evidence is incomplete.',
}

function facts(items: [string, string][]): string {
  return `<dl class="facts">${items.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>`
}

function kpi(label: string, value: string, detail: string, state: 'good' | 'bad' | 'neutral'): string {
  return `<div class="kpi kpi--${state}"><div class="kpi-label">${escapeHtml(label)}</div><div class="kpi-value">${value}</div><div class="kpi-detail">${detail}</div></div>`
}

function masthead(s: ChaosSummary): string {
  const all = s.phases.flatMap((p) => p.assertions)
  const held = all.filter((a) => a.passed).length
  const phasesOk = s.phases.filter((p) => p.assertions.every((a) => a.passed)).length
  const requests = s.phases.reduce((n, p) => n + p.stats.requests, 0)
  const ok = s.phases.reduce((n, p) => n + p.stats.ok, 0)
  const judged = s.status !== 'broken'
  const { run, load } = s
  const stack = [
    `${run.instances} instance${run.instances > 1 ? 's behind a load balancer' : ''}`,
    run.workers > 1 ? `${run.workers} workers each` : '',
    run.toxiproxy ? 'toxiproxy to each mock' : 'mocks direct',
    run.redis ? 'Redis shared cache' : '',
  ].filter(Boolean)
  const reason = s.status_reason ? `<p class="verdict-reason">${escapeHtml(s.status_reason)}</p>` : ''
  return `<header class="masthead status-${s.status}">
<div class="verdict"><span class="verdict-badge">${escapeHtml(s.status)}</span><div><h1>Chaos report: ${escapeHtml(run.scenario)}</h1><p class="verdict-hint">${STATUS_HINT[s.status]} Run <code>${escapeHtml(run.id)}</code>.</p>${reason}</div></div>
<p>${escapeHtml(run.description)}</p>
${facts([
  [
    'Duration',
    `${formatDuration(run.duration_s)}${run.time_scale === 1 ? '' : ` (time scale ${formatNumber(run.time_scale)})`}`,
  ],
  ['Load', `${formatNumber(load.rate)} req/s, ${formatPercent(load.stream_share)} streaming`],
  ['Models', load.models.map((m) => `<code>${escapeHtml(m)}</code>`).join(', ')],
  ['Stack', escapeHtml(stack.join(', '))],
  ['Started', formatTimestamp(run.started_at)],
  ['Target', `<code>${escapeHtml(run.target_url)}</code>`],
])}
<div class="kpis">
${kpi('Assertions held', `${held} / ${all.length}`, `${phasesOk} of ${s.phases.length} phases clean`, judged ? (held === all.length ? 'good' : 'bad') : 'neutral')}
${kpi('Requests', formatInt(requests), `${formatPercent(requests ? ok / requests : null)} succeeded`, 'neutral')}
${kpi('Send lag p99', `${formatNumber(s.generator.send_lag_ms.p99)} ms`, `${formatInt(s.generator.dropped)} arrivals dropped`, 'neutral')}
</div>
</header>`
}

function configSection(s: ChaosSummary): string {
  const { run, environment: env } = s
  const items: [string, string][] = [
    ['Node.js', escapeHtml(env.node_version)],
    ['OS', escapeHtml(env.arch ? `${env.os} (${env.arch})` : env.os)],
    ['CPU', `${escapeHtml(env.cpu_model)} \u00d7 ${formatInt(env.cpu_count)}`],
    ['Git commit', env.git_commit ? `<code>${escapeHtml(env.git_commit)}</code>` : 'unknown'],
    ['Seed', escapeHtml(String(run.seed))],
    ['Ended', formatTimestamp(run.ended_at)],
  ]
  const note = s.generator.note ? `<p class="note">${escapeHtml(s.generator.note)}</p>` : ''
  return `<section id="config" class="card"><h2>Proxy configuration and environment</h2><p class="lead">Laid over <code>proxy/config.yaml</code> for this run:</p><pre class="config">${escapeHtml(JSON.stringify(s.proxy_overrides, null, 2))}</pre>${facts(items)}
<p class="command"><span>Command</span><code>${escapeHtml(run.command)}</code></p>${note}</section>`
}

export function renderChaosReport(summary: ChaosSummary, options: RenderOptions = {}): string {
  const charts = buildChaosCharts(summary)
  return htmlPage({
    title: `${summary.status.toUpperCase()}: chaos ${summary.run.scenario}, ${summary.run.id}`,
    css: REPORT_CSS + CHAOS_CSS,
    main: `${masthead(summary)}
${phaseTable(summary)}
<section id="timeline" class="card"><h2>Breakers and health over time</h2><p class="lead">What the proxy said about itself, polled once a second, against the phases.</p>${chaosTimeline(summary)}${timelineLegend()}</section>
<div class="charts">
${charts.map(renderChartSlot).join('\n')}
</div>
${eventTable(summary)}
${chaosErrorTable(summary)}
${configSection(summary)}
<footer>Rendered from chaos summary schema v${summary.schema_version}; the summary is embedded in this file (<code>#chaos-summary</code>).</footer>`,
    data: { 'chaos-summary': summary, 'report-charts': chartData(charts) },
    assets: options.assets ?? loadAssets(),
  })
}
