// The report's stylesheet: system fonts, high-contrast text, a two-column chart grid that folds to
// one column on narrow screens, and a print layout without shadows or page-split charts.
export const REPORT_CSS = `
:root {
  --ink: #0f172a; --muted: #475569; --faint: #64748b; --line: #e2e8f0; --bg: #f1f5f9; --card: #fff;
  --good: #15803d; --good-bg: #dcfce7; --bad: #b91c1c; --bad-bg: #fee2e2;
  --warn: #a16207; --warn-bg: #fef9c3; --accent: #2563eb; --unsure: #6d28d9; --info-bg: #eff6ff;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
}
main { max-width: 1280px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; line-height: 1.2; margin: 0; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 0; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; overflow-wrap: anywhere; }
.card, .masthead {
  background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 20px 22px; margin: 0 0 20px; box-shadow: 0 1px 2px rgba(15, 23, 42, 0.05);
}
.masthead { border-top: 6px solid var(--faint); }
.masthead.status-passed { border-top-color: var(--good); }
.masthead.status-failed { border-top-color: var(--bad); }
.masthead.status-broken { border-top-color: var(--warn); }
.masthead.status-inconclusive { border-top-color: var(--unsure); }
.verdict { display: flex; gap: 16px; align-items: center; margin-bottom: 16px; }
.verdict-badge {
  flex: none; font-weight: 700; font-size: 18px; letter-spacing: 0.04em; text-transform: uppercase;
  padding: 8px 16px; border-radius: 8px; color: #fff; background: var(--faint);
}
.status-passed .verdict-badge { background: var(--good); }
.status-failed .verdict-badge { background: var(--bad); }
.status-broken .verdict-badge { background: var(--warn); }
.status-inconclusive .verdict-badge { background: var(--unsure); }
.verdict-hint, .verdict-reason { margin: 4px 0 0; color: var(--muted); }
.verdict-reason { color: var(--ink); font-weight: 600; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px 24px; margin: 0; }
.facts div { min-width: 0; }
.facts dt { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--faint); }
.facts dd { margin: 2px 0 0; overflow-wrap: anywhere; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin-top: 20px; }
.kpi { border: 1px solid var(--line); border-left-width: 4px; border-radius: 8px; padding: 10px 14px; }
.kpi--good { border-left-color: var(--good); }
.kpi--bad { border-left-color: var(--bad); background: #fffafa; }
.kpi-label { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--faint); }
.kpi-value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kpi--bad .kpi-value { color: var(--bad); }
.kpi-detail { font-size: 13px; color: var(--muted); }
.banner { border-radius: 10px; padding: 12px 16px; margin: 0 0 20px; border: 1px solid; }
.banner--warn { background: var(--warn-bg); border-color: #facc15; color: #713f12; }
.banner--info { background: var(--info-bg); border-color: #93c5fd; color: #1e3a8a; font-size: 16px; }
.banner ul { margin: 6px 0 0; padding-left: 20px; }
.lead { margin: -4px 0 12px; color: var(--muted); }
.note { margin: 10px 0 0; font-size: 13px; color: var(--faint); }
.empty { margin: 0; color: var(--muted); font-style: italic; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.narrow { width: auto; min-width: 50%; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; color: var(--faint); font-weight: 600; white-space: nowrap; }
tbody th, tfoot th { font-weight: 600; white-space: nowrap; }
.subhead { margin: 24px 0 8px; }
tfoot th, tfoot td { border-top: 2px solid var(--line); border-bottom: 0; font-weight: 600; }
.num { text-align: right; white-space: nowrap; }
.good { color: var(--good); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.row-fail { background: #fff7f7; }
.row-skipped td, .row-skipped th { color: var(--muted); }
.badge { display: inline-block; font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em; padding: 2px 8px; border-radius: 999px; }
.badge--pass { background: var(--good-bg); color: var(--good); }
.badge--fail { background: var(--bad-bg); color: var(--bad); }
.badge--warn { background: var(--warn-bg); color: var(--warn); }
.badge--muted { background: var(--bg); color: var(--muted); }
.share { min-width: 200px; white-space: nowrap; }
.bar { display: inline-block; width: 120px; height: 8px; margin-right: 8px; background: var(--bg); border-radius: 4px; overflow: hidden; vertical-align: middle; }
.bar span { display: block; height: 100%; background: var(--bad); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(480px, 100%), 1fr)); gap: 20px; margin: 0 0 20px; }
.chart { margin: 0; min-width: 0; background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px 18px; }
.chart figcaption { margin-bottom: 8px; }
.chart figcaption p { margin: 2px 0 0; font-size: 13px; color: var(--muted); }
.chart-plot { width: 100%; min-height: 260px; overflow: hidden; }
.chart-missing {
  display: flex; flex-direction: column; justify-content: center; align-items: center; gap: 4px; min-height: 200px; margin: 0;
  border: 2px dashed var(--line); border-radius: 8px; color: var(--muted); text-align: center; padding: 16px;
}
.chart-missing strong { color: var(--ink); }
.uplot { font-family: inherit; }
.u-legend { font-size: 13px; color: var(--muted); }
.u-legend .u-marker { border-radius: 2px; }
.command { display: flex; gap: 12px; align-items: baseline; margin: 14px 0 0; }
.command span { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--faint); }
.notes { margin: 10px 0 0; padding-left: 20px; color: var(--muted); }
footer { color: var(--faint); font-size: 13px; text-align: center; }
@media (max-width: 560px) {
  main { padding: 12px 8px 32px; }
  .card, .masthead, .chart { padding: 14px; }
  h1 { font-size: 22px; }
  .facts { grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 8px 16px; }
  .kpis { grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); }
  .kpi-value { font-size: 20px; }
  .charts { grid-template-columns: 1fr; }
  .verdict { flex-direction: column; align-items: flex-start; }
}
@media print {
  body { background: #fff; font-size: 12px; }
  main { max-width: none; padding: 0; }
  .card, .masthead, .chart { box-shadow: none; break-inside: avoid; }
  .charts { grid-template-columns: 1fr 1fr; }
  .u-legend { font-size: 11px; }
  .table-wrap { overflow: visible; }
  th, td { padding: 4px 6px; }
  thead th { font-size: 10px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`
