// summary.json -> one self-contained HTML document. Pure: the same summary gives the same bytes; the
// page needs no network (the chart library, the styles and the data are inlined).
import { loadAssets, type ReportAssets } from './assets.ts'
import { buildCharts, chartData, renderChartSlot } from './charts.ts'
import { escapeHtml, inlineScript, inlineStyle, jsonForScript } from './escape.ts'
import { autocannonBanner, droppedBanner, mockLatencyBanner, splitBanner } from './notices.ts'
import { environmentSection, generatorBanner, header, tierSection } from './sections.ts'
import { attributionSection } from './streams.ts'
import { REPORT_CSS } from './styles.ts'
import type { RunSummary } from './summary.ts'
import { baselineTable, breakerTable, errorTable, regressionTable, scenarioTable } from './tables.ts'

export type RenderOptions = {
  /** The inlined files; defaults to uPlot from node_modules and reports/src/client.js. */
  assets?: ReportAssets
}

export function renderReport(summary: RunSummary, options: RenderOptions = {}): string {
  const assets = options.assets ?? loadAssets()
  const charts = buildCharts(summary)
  const title = `${summary.status.toUpperCase()}: ${summary.run.tier} tier, ${summary.run.id}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(title)}</title>
<style>${inlineStyle(assets.chartStyle)}</style>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
${header(summary)}
${splitBanner(summary)}
${mockLatencyBanner(summary)}
${generatorBanner(summary)}
${droppedBanner(summary)}
${autocannonBanner(summary)}
${baselineTable(summary.baselines)}
<div class="charts">
${charts.map(renderChartSlot).join('\n')}
</div>
${scenarioTable(summary)}
${attributionSection(summary)}
${errorTable(summary)}
${regressionTable(summary)}
${breakerTable(summary)}
${tierSection(summary)}
${environmentSection(summary)}
<footer>Rendered from run summary schema v${summary.schema_version}${summary.upgraded_from === 1 ? ' (written as v1: its latency leaves out dropped arrivals and its throughput counts failed requests)' : summary.upgraded_from ? ` (written as v${summary.upgraded_from})` : ''}; the summary is embedded in this file (<code>#run-summary</code>).</footer>
</main>
<script type="application/json" id="run-summary">${jsonForScript(summary)}</script>
<script type="application/json" id="report-charts">${jsonForScript(chartData(charts))}</script>
<script>${inlineScript(assets.chartScript)}</script>
<script>${inlineScript(assets.clientScript)}</script>
</body>
</html>
`
}
