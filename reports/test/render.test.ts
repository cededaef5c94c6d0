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

  it('reads a TTFT no stream gave as not measured, never as 0 ms', () => {
    const summary = streamingSummary()
    const byCache = summary.totals.stream_by_cache!
    const unmeasured = { ...byCache.miss!, ttft_ms: null, itl_ms: null }
    const html = renderReport({
      ...summary,
      totals: { ...summary.totals, stream_by_cache: { ...byCache, miss: unmeasured } },
    })
    const kpi = html.slice(html.indexOf('TTFT p95, generated'))
    expect(kpi.slice(0, 300)).toContain('\u2014')
    expect(kpi.slice(0, 300)).not.toMatch(/>0(\u00a0| )ms</)
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

  it('calls a run whose generator may have been the limit inconclusive, with every reason', () => {
    const summary: RunSummary = {
      ...passedSummary(),
      status: 'inconclusive',
      generator: {
        intended_rps: 200,
        achieved_rps: 140,
        cpu_percent_max: 99,
        limited: true,
        reasons: ['its CPU was 92 % of a core', 'its event loop was busy 97 % of the time'],
      },
    }
    const html = renderReport(summary)
    expect(html).toContain('<span class="verdict-badge">Inconclusive</span>')
    expect(html).toContain('The load generator may have been the limit: this run is inconclusive.')
    expect(html).toContain('<li>its event loop was busy 97 % of the time</li>')
    // Its KPIs are shown without judging them.
    expect(html).not.toMatch(/class="kpi kpi--(good|bad)"/)
    expect(renderReport(passedSummary())).not.toContain('may have been the limit')
  })

  it('says at its top, in words, that the tiers measure the proxy against a fast mock', () => {
    const html = renderReport(streamingSummary())
    const banner = html.indexOf('id="what-this-measures"')
    expect(banner).toBeGreaterThan(0)
    expect(banner).toBeLessThan(html.indexOf('id="baselines"'))
    expect(html).toMatch(
      /<strong>These numbers measure the proxy, not an LLM\.<\/strong> The mock providers answered in about 2 ms to the first token with no gap between tokens \(profile baseline\)/,
    )
    expect(html).toMatch(/The proxy's own time \(its Server-Timing header\) was p50 0\.24\u00a0ms/)
    const slow = {
      ...streamingSummary(),
      run: { ...streamingSummary().run, mock_latency: { ttft_ms: 400, itl_ms: 30 } },
    }
    expect(renderReport(slow)).not.toContain('not an LLM')
  })

  it("shows the proxy's own time beside the total latency (Server-Timing)", () => {
    const html = renderReport(streamingSummary())
    expect(html).toMatch(
      /<div class="kpi-label">Proxy&#39;s own time p50<\/div><div class="kpi-value">0\.24\u00a0ms/,
    )
    expect(html).toMatch(
      /id="attribution"[\s\S]*Total latency[\s\S]*The proxy&#39;s own time \(proxy;dur\)[\s\S]*Waiting for providers/,
    )
    expect(renderReport(passedSummary())).not.toContain('id="attribution"')
  })

  it('gives throughput after the ramp-up, as its baseline judges it, not over the whole run', () => {
    // The heavy tier ramps for a third of its run: 66.67 req/s over the run, 80.01 after the ramp-up.
    const base = passedSummary()
    const summary: RunSummary = {
      ...base,
      totals: { ...base.totals, rps: 66.67, rps_after_ramp_up: 80.01 },
      tier: { ...base.tier, expected_rps: 80 },
    }
    summary.baselines[2] = {
      ...summary.baselines[2],
      metric: 'rps_after_ramp_up',
      threshold: 72,
      actual: 80.01,
      passed: true,
    }
    const html = renderReport(summary)
    expect(html).toMatch(
      /kpi--good"><div class="kpi-label">Throughput after ramp-up<\/div><div class="kpi-value">80\u00a0req\/s<\/div><div class="kpi-detail">successful requests; expected 80 req\/s, at least 72/,
    )
  })

  it('says when arrivals were dropped, how many and when', () => {
    const base = failedSummary()
    const points = base.timeseries!.points.map((p, i) => ({ ...p, dropped: i === 40 || i === 41 ? 206 : 0 }))
    const html = renderReport({ ...base, timeseries: { ...base.timeseries!, points } })
    expect(html).toMatch(
      /id="dropped"><strong>412 arrivals were dropped:<\/strong> all 400 connections were busy/,
    )
    expect(html).toMatch(/dropped between 400 s and 420 s/)
    expect(html).toMatch(/kpi--bad"><div class="kpi-label">Dropped arrivals<\/div><div class="kpi-value">412/)
    const charts = embedded(html, 'report-charts') as Record<string, { series: { label: string }[] }>
    expect(charts.errors.series.map((s) => s.label)).toContain('dropped arrivals')
  })

  it('says whenever autocannon ran what it hides, and how many requests it dropped at the end', () => {
    const base = passedSummary()
    const html = renderReport({
      ...base,
      totals: { ...base.totals, in_flight_at_end: { count: 50, oldest_ms: 1200 } },
    })
    expect(html).toContain('<strong>This run used autocannon, a closed loop.</strong>')
    expect(html).toMatch(/refills once a second[\s\S]*stall longer than a connection's interval/)
    expect(html).toMatch(
      /<strong>50 requests were still in flight<\/strong> \(the oldest for 1,200\u00a0ms\)/,
    )
    expect(renderReport(streamingSummary())).not.toContain('id="autocannon"')
  })

  it('says when the run is one shard of a split run, or the merge of its shards, and lists its targets', () => {
    const base = passedSummary()
    const shard = parseSummary({
      ...base,
      run: {
        ...base.run,
        targets: ['http://10.0.0.1:8000', 'http://10.0.0.2:8000'],
        segment: {
          segment: '1/4:1/2',
          sequence: '0,1/4,1/2,3/4,1',
          share: 0.25,
          users: 8,
          expected_rps: 1.25,
          start_lag_ms: 0.4,
        },
      },
    })
    const html = renderReport(shard)
    expect(html).toMatch(/One shard of a split run:<\/strong> execution segment <code>1\/4:1\/2<\/code>/)
    expect(html).toContain('<code>http://10.0.0.2:8000</code>')
    const shardRow = {
      run_id: 'r',
      status: 'passed',
      errors: 0,
      started_at: base.run.started_at,
      generator_limited: false,
    } as const
    const merged = parseSummary({
      ...base,
      shards: [
        { ...shardRow, segment: '0:1/2', requests: 100 },
        { ...shardRow, segment: '1/2:1', requests: 101 },
      ],
    })
    expect(renderReport(merged)).toMatch(
      /Merged from 2 shards<\/strong>.*<code>1\/2:1<\/code> 101 requests \(passed\)/,
    )
    expect(renderReport(passedSummary())).not.toContain('id="split-run"')
  })

  it('renders the streams table by cache status and breaker states when present', () => {
    const html = renderReport(streamingSummary())
    expect(html).toContain('<h3 class="subhead">Streams, by cache status</h3>')
    expect(html).toMatch(/<th scope="row">chat-stream<\/th><td>generated \(cache MISS\)<\/td>/)
    expect(html).toMatch(/<th scope="row">chat-stream<\/th><td>cache replay \(HIT\)<\/td>/)
    expect(html).toMatch(/kpi-label">TTFT p95, generated<\/div><div class="kpi-value">330\u00a0ms/)
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
