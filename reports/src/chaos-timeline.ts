// The state timeline of a chaos run, drawn as inline SVG (no script needed): the phases shaded and
// named, one row per provider for the breaker state /metrics reported, one row per health endpoint
// for what it said, and a tick for every fault and process event.

import { BAND_FILL } from './chaos-charts.ts'
import type { ChaosSummary } from './chaos-summary.ts'
import { escapeHtml } from './escape.ts'
import { formatNumber } from './format.ts'

const WIDTH = 1000
const LABEL_W = 230
const ROW_H = 22
const TOP = 26
const PLOT_W = WIDTH - LABEL_W - 10

/** Colours by state; anything unknown is grey. */
export const STATE_COLORS: Record<string, string> = {
  closed: '#16a34a',
  ok: '#16a34a',
  half_open: '#f59e0b',
  degraded: '#f59e0b',
  open: '#dc2626',
  unavailable: '#dc2626',
  'no answer': '#1e293b',
}
const OTHER = '#94a3b8'

type Row = { label: string; points: { t: number; state: string }[] }

export function chaosTimeline(summary: ChaosSummary): string {
  const rows: Row[] = [
    ...Object.entries(summary.breakers).map(([p, s]) => ({
      label: `breaker ${p}`,
      points: s.map((x) => ({ t: x.t, state: x.state })),
    })),
    ...Object.entries(summary.health).map(([name, s]) => ({
      label: name,
      points: s.map((x) => ({ t: x.t, state: x.status })),
    })),
  ]
  const end = Math.max(summary.phases.at(-1)?.end_s ?? 1, ...rows.flatMap((r) => r.points.map((p) => p.t)))
  const x = (t: number) => LABEL_W + (Math.max(0, Math.min(t, end)) / end) * PLOT_W
  const height = TOP + rows.length * ROW_H + 40
  const bands = summary.phases
    .map((p) => {
      const x0 = x(p.start_s)
      const w = Math.max(0, x(p.end_s) - x0)
      const fill = p.faults.length > 0 ? BAND_FILL.fault : BAND_FILL.quiet
      return `<g class="phase"><rect x="${r(x0)}" y="0" width="${r(w)}" height="${height - 20}" fill="${fill}"/><line x1="${r(x0)}" x2="${r(x0)}" y1="0" y2="${height - 20}" stroke="#64748b" stroke-width="1"/><svg x="${r(x0)}" y="0" width="${r(w)}" height="${TOP}"><text x="4" y="16" class="tl-phase">${escapeHtml(p.name)}</text></svg></g>`
    })
    .join('')
  const body = rows
    .map((row, i) => {
      const y = TOP + i * ROW_H
      const segments = row.points
        .map((p, j) => {
          const next = row.points[j + 1]?.t ?? Math.min(end, p.t + 1)
          const x0 = x(p.t)
          const w = Math.max(1, x(next) - x0)
          return `<rect x="${r(x0)}" y="${y + 4}" width="${r(w)}" height="${ROW_H - 8}" fill="${STATE_COLORS[p.state] ?? OTHER}"><title>${escapeHtml(`${row.label} at ${formatNumber(p.t)} s: ${p.state}`)}</title></rect>`
        })
        .join('')
      return `<g class="tl-row" data-row="${escapeHtml(row.label)}"><text x="${LABEL_W - 8}" y="${y + ROW_H / 2 + 4}" text-anchor="end" class="tl-label">${escapeHtml(row.label)}</text>${segments}</g>`
    })
    .join('')
  const axisY = TOP + rows.length * ROW_H + 6
  const step = niceStep(end)
  const ticks: string[] = []
  for (let t = 0; t <= end + 1e-9; t += step)
    ticks.push(
      `<text x="${r(x(t))}" y="${axisY + 14}" text-anchor="middle" class="tl-tick">${formatNumber(t)} s</text>`,
    )
  const events = summary.events
    .filter((e) => e.kind !== 'note')
    .map(
      (e) =>
        `<path d="M${r(x(e.t))} ${axisY - 6} l-4 -7 h8 z" fill="${e.kind === 'process' ? '#7c3aed' : '#ea580c'}"><title>${escapeHtml(`${formatNumber(e.t)} s: ${e.text}`)}</title></path>`,
    )
    .join('')
  const empty =
    rows.length === 0
      ? `<text x="${LABEL_W}" y="${TOP + 16}" class="tl-label">The proxy reported no breaker and no health endpoint answered.</text>`
      : ''
  return `<svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Breaker and health timeline" data-phases="${summary.phases.length}" data-rows="${rows.length}">${bands}${body}${empty}${events}${ticks.join('')}</svg>`
}

export function timelineLegend(): string {
  const item = (color: string, text: string) =>
    `<span class="tl-key"><span style="background:${color}"></span>${escapeHtml(text)}</span>`
  return `<p class="note tl-legend">${[
    item(STATE_COLORS.closed, 'closed / ok'),
    item(STATE_COLORS.half_open, 'half-open / degraded'),
    item(STATE_COLORS.open, 'open / unavailable'),
    item(STATE_COLORS['no answer'], 'no answer'),
    item(OTHER, 'other'),
    item('#ea580c', '\u25bc fault'),
    item('#7c3aed', '\u25bc process event'),
  ].join(' ')}</p>`
}

function niceStep(end: number): number {
  for (const step of [1, 2, 5, 10, 15, 30, 60, 120, 300]) if (end / step <= 12) return step
  return 600
}

const r = (v: number) => Math.round(v * 10) / 10
