// The capacity summary -> one self-contained HTML document, in the house look of the tier reports
// (same styles, uPlot and page script inlined, the summary embedded). Pure: same summary, same bytes.
import { loadAssets } from './assets.ts'
import { buildCapacityCharts } from './capacity-charts.ts'
import {
  boundsSection,
  capacityHeader,
  sizingSection,
  sweepSection,
  truthSection,
  uslSection,
  workloadSection,
} from './capacity-sections.ts'
import type { CapacitySummary } from './capacity-summary.ts'
import { chartData, renderChartSlot } from './charts.ts'
import { htmlPage } from './page.ts'
import type { RenderOptions } from './render.ts'
import { REPORT_CSS } from './styles.ts'

export function renderCapacityReport(summary: CapacitySummary, options: RenderOptions = {}): string {
  const charts = buildCapacityCharts(summary)
  return htmlPage({
    title: `Capacity plan, ${summary.run.id}`,
    css: REPORT_CSS,
    assets: options.assets ?? loadAssets(),
    main: [
      capacityHeader(summary),
      sizingSection(summary),
      `<div class="charts">\n${charts.map(renderChartSlot).join('\n')}\n</div>`,
      truthSection(summary),
      boundsSection(summary),
      uslSection(summary),
      ...summary.sweeps.map(sweepSection),
      workloadSection(summary),
      `<footer>Rendered from capacity summary schema v${summary.schema_version}; the summary is embedded in this file (<code>#capacity-summary</code>).</footer>`,
    ].join('\n'),
    data: { 'capacity-summary': summary, 'report-charts': chartData(charts) },
  })
}
