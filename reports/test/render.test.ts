import { describe, expect, it } from 'vitest'
import { formatDuration, formatMargin, formatMs, formatPercent } from '../src/format.ts'
import { renderReport } from '../src/render.ts'
import { parseSummary, type RunSummary } from '../src/summary.ts'
import { CHART_NAMES, failedSummary, minimalSummary, passedSummary, streamingSummary } from './fixtures.ts'
import { hostileSummary, INJECTED } from './hostile.ts'

function embedded(html: string, id: string): unknown {
  const match = html.match(new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`))
  if (!match) throw new Error(`no #${id} block`)
  return JSON.parse(match[1])
}

function chartFigures(html: string): Map<string, string> {
  const figures = new Map<string, string>()
  for (const m of html.matchAll(/<figure class="chart[^"]*" data-chart="([^"]+)">([\s\S]*?)<\/figure>/g)) {
    figures.set(m[1], m[2])
  }
  return figures
}

describe('renderReport', () => {
  it('is deterministic: the same summary gives the same document', () => {
    const summary = failedSummary()
    const again = parseSummary(JSON.stringify(failedSummary()))
    expect(renderReport(summary)).toBe(renderReport(again))
  })

  it('is self-contained: no resource is loaded from the network', () => {
    for (const summary of [passedSummary(), failedSummary(), streamingSummary(), minimalSummary()]) {
      const html = renderReport(summary)
      expect(html).not.toMatch(/<script[^>]*\ssrc\s*=/i)
      expect(html).not.toMatch(/<link[^>]*href/i)
      expect(html).not.toMatch(/<(img|iframe|embed|object|source)\b/i)
      expect(html).not.toMatch(/url\(\s*['"]?(https?:)?\/\//i)
      expect(html).not.toMatch(/@import/i)
      expect(html).toContain('uPlot')
    }
  })

  it('embeds the summary as JSON that reads back unchanged', () => {
    const summary = streamingSummary()
    expect(embedded(renderReport(summary), 'run-summary')).toEqual(summary)
  })

  it('gives every chart a stable container, drawn when measured', () => {
    const html = renderReport(streamingSummary())
    const figures = chartFigures(html)
    expect([...figures.keys()]).toEqual(CHART_NAMES)
    for (const body of figures.values()) expect(body).toContain('class="chart-plot"')
    expect(Object.keys(embedded(html, 'report-charts') as object)).toEqual(CHART_NAMES)
  })

  it('says "not measured in this run" for every chart of a run without data', () => {
    const html = renderReport(minimalSummary())
    const figures = chartFigures(html)
    expect([...figures.keys()]).toEqual(CHART_NAMES)
    for (const body of figures.values()) {
      expect(body).toContain('Not measured in this run')
      expect(body).not.toContain('chart-plot')
    }
    expect(embedded(html, 'report-charts')).toEqual({})
  })

  it('marks the stream and proxy charts as not measured when the run had neither', () => {
    const figures = chartFigures(renderReport(passedSummary()))
    for (const name of ['ttft', 'itl', 'proxy-memory', 'cache-hit-rate']) {
      expect(figures.get(name)).toContain('Not measured in this run')
    }
    expect(figures.get('proxy-memory')).toContain('no metrics endpoint')
    expect(figures.get('latency')).toContain('chart-plot')
  })

  it('shows the verdict, the failing baselines with their margins and the regression verdicts', () => {
    const html = renderReport(failedSummary())
    expect(html).toContain('<span class="verdict-badge">Failed</span>')
    expect(html).toMatch(/<tr class="row-fail">[\s\S]*?latency_p95_ms[\s\S]*?\u2212\d+\.\d\u00a0%/)
    expect(html).toContain('id="regression"')
    expect(html).toContain('badge--fail">regressed<')
    expect(renderReport(passedSummary())).not.toContain('id="regression"')
  })

  it('shows a skipped scenario with its reason', () => {
    const html = renderReport(passedSummary())
    expect(html).toMatch(
      /<tr class="row-skipped"><th scope="row">condense<\/th>[\s\S]*?skipped[\s\S]*?not implemented/,
    )
  })

  it('warns when the load generator was the limit', () => {
    const summary: RunSummary = {
      ...passedSummary(),
      generator: { intended_rps: 200, achieved_rps: 140, cpu_percent_max: 99, limited: true },
    }
    expect(renderReport(summary)).toContain('The load generator was the limit.')
    expect(renderReport(passedSummary())).not.toContain('The load generator was the limit.')
  })

  it('renders the streams table and breaker states when present', () => {
    const html = renderReport(streamingSummary())
    expect(html).toContain('<h3 class="subhead">Streams</h3>')
    expect(html).toMatch(/id="breakers"[\s\S]*?mock-anthropic/)
    expect(renderReport(passedSummary())).not.toContain('id="breakers"')
  })
})

describe('escaping hostile strings from a summary', () => {
  const summary = hostileSummary()
  const html = renderReport(summary)

  it('starts from a summary the schema accepts', () => {
    expect(parseSummary(JSON.stringify(summary))).toEqual(summary)
  })

  it("keeps exactly the report's own script elements", () => {
    expect(html.match(/<script\b/gi)).toHaveLength(4)
    expect(html.match(/<\/script/gi)).toHaveLength(4)
  })

  it('renders no markup from names, URLs or error kinds', () => {
    expect(html).not.toMatch(/<img\b/i)
    expect(html).not.toMatch(/<svg\b/i)
    expect(html).not.toContain(INJECTED.name)
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;')
  })

  it('keeps the hostile values intact in the embedded JSON', () => {
    const data = embedded(html, 'run-summary') as RunSummary
    expect(data.scenarios[0].name).toBe(INJECTED.name)
    expect(data.run.target_url).toBe(summary.run.target_url)
    expect(Object.keys(data.errors_by_kind)).toContain(INJECTED.kind)
  })
})

describe('formatting', () => {
  it('formats values with units, signs and no locale', () => {
    expect(formatMs(1234.5)).toBe('1,235\u00a0ms')
    expect(formatMs(42.123)).toBe('42.1\u00a0ms')
    expect(formatMs(12_500)).toBe('12.5\u00a0s')
    expect(formatPercent(0.0042)).toBe('0.42\u00a0%')
    expect(formatMargin(0.24)).toBe('+24.0\u00a0%')
    expect(formatMargin(-0.2)).toBe('\u221220.0\u00a0%')
    expect(formatDuration(900)).toBe('15\u00a0min')
    expect(formatDuration(90)).toBe('1\u00a0min 30\u00a0s')
  })
})
