// The chaos report: a pure, versioned function of its summary; phases shaded and named on every time
// chart and on the breaker timeline, a table of phases with their assertions; checked as HTML and in
// headless Chromium (phases drawn, no console error), with a screenshot.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderChaosReport } from '../src/chaos-render.ts'
import { type ChaosSummary, isChaosSummary, parseChaosSummary } from '../src/chaos-summary.ts'
import { main } from '../src/cli.ts'
import { SummaryError } from '../src/summary.ts'
import { BROWSER_SKIP_REASON, openReportBrowser, type ReportBrowser } from './browser.ts'
import { CHAOS_CHART_NAMES, chaosSummary, failedChaosSummary, hostileChaosSummary } from './chaos-fixtures.ts'
import { INJECTED } from './hostile.ts'

function issuePaths(summary: unknown): string[] {
  try {
    parseChaosSummary(summary)
  } catch (error) {
    expect(error).toBeInstanceOf(SummaryError)
    return (error as SummaryError).issues.map((i) => i.path)
  }
  throw new Error('the summary was accepted')
}

function chartsOf(html: string): Record<string, { bands?: { label: string }[] }> {
  return JSON.parse(/<script type="application\/json" id="report-charts">(.*?)<\/script>/s.exec(html)![1])
}

describe('chaos summary and report', () => {
  it('accepts the fixture and names every problem of a bad summary by its path', () => {
    expect(parseChaosSummary(JSON.stringify(chaosSummary())).run.scenario).toBe('outage-fallback')
    const bad = chaosSummary()
    ;(bad as { schema_version: number }).schema_version = 2
    bad.timeseries.points[3].t = 1
    ;(bad.breakers['mock-openai'][0] as { state: string }).state = 'ajar'
    bad.phases[0].stats.requests = -1
    expect(issuePaths(bad)).toEqual(
      expect.arrayContaining([
        'schema_version',
        'timeseries.points[3].t',
        'breakers.mock-openai[0].state',
        'phases[0].stats.requests',
      ]),
    )
    const inconsistent = chaosSummary()
    inconsistent.status = 'failed'
    inconsistent.phases[1].start_s = 5
    expect(issuePaths(inconsistent)).toEqual(['status', 'phases[1].start_s'])
    expect(isChaosSummary(chaosSummary())).toBe(true)
    expect(isChaosSummary({ schema_version: 1 })).toBe(false)
  })

  it('renders the same bytes for the same summary, every chart with the phases as bands', () => {
    const html = renderChaosReport(chaosSummary())
    expect(renderChaosReport(chaosSummary())).toBe(html)
    const charts = chartsOf(html)
    expect(Object.keys(charts)).toEqual(CHAOS_CHART_NAMES)
    for (const [name, spec] of Object.entries(charts))
      expect(
        spec.bands?.map((b) => b.label),
        name,
      ).toEqual(['steady', 'outage', 'recovery'])
    expect(html).toContain('data-phases="3"')
    expect(html).toMatch(/data-row="breaker mock-openai"/)
    expect(html).toMatch(/data-row="\/health\/providers mock-openai"/)
  })

  it('lists each phase with its faults, figures and assertions with their verdicts', () => {
    const html = renderChaosReport(failedChaosSummary())
    expect(html).toContain('status-failed')
    expect(html.match(/class="phase-head/g)).toHaveLength(3)
    expect(html).toContain('mock-openai: mock status 100 % (status 503)')
    expect(html).toMatch(
      /<tr class="assertion row-fail"><td><code>breaker<\/code>.*never opened.*badge--fail/,
    )
    expect(html).toContain('<strong class="bad">1 of 4</strong> assertions failed.')
  })

  it('shows hostile strings as text', () => {
    const html = renderChaosReport(hostileChaosSummary())
    expect(html).not.toContain(INJECTED.name)
    expect(html).not.toContain(INJECTED.kind)
    expect(html).not.toContain('<b onmouseover')
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;')
  })

  it('npm run report re-renders a chaos summary with the chaos renderer', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const dir = await mkdtemp(join(tmpdir(), 'chaos-report-cli-'))
    try {
      await writeFile(join(dir, 'summary.json'), JSON.stringify(chaosSummary()))
      const out: string[] = []
      expect(
        await main([join(dir, 'summary.json')], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) }),
      ).toBe(0)
      expect(await readFile(join(dir, 'report.html'), 'utf8')).toContain('Chaos report: outage-fallback')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

const suite = BROWSER_SKIP_REASON ? describe.skip : describe

suite(`chaos report in headless Chromium${BROWSER_SKIP_REASON ? ` (skipped: ${BROWSER_SKIP_REASON})` : ''}`, () => {
  let browser: ReportBrowser
  beforeAll(async () => {
    browser = await openReportBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })

  /** Per chart: drawn, its bands, and how many pixels carry the fault band's tint (phases drawn). */
  const chartStates = (page: import('playwright-core').Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-chart]')].map((figure) => {
        let tinted = 0
        for (const canvas of figure.querySelectorAll('canvas')) {
          const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
          // The fault band alone: rgba(234, 88, 12, 0.13) on the transparent canvas.
          for (let i = 0; i < px.length; i += 4)
            if (
              px[i] > 215 &&
              px[i + 1] > 70 &&
              px[i + 1] < 110 &&
              px[i + 2] < 40 &&
              px[i + 3] > 24 &&
              px[i + 3] < 42
            )
              tinted++
        }
        return {
          name: figure.dataset.chart,
          drawn: figure.dataset.drawn === 'true',
          bands: Number(figure.dataset.bands ?? 0),
          tinted,
        }
      }),
    )

  const open = (name: string, summary: ChaosSummary, width?: number) =>
    browser.open(name, renderChaosReport(summary), width)

  it('draws every chart with its phases shaded and the timeline, offline, with no console error', async () => {
    const { page, errors, offsite } = await open('chaos', chaosSummary())
    const charts = await chartStates(page)
    expect(charts.map((c) => c.name)).toEqual(CHAOS_CHART_NAMES)
    for (const chart of charts) {
      expect(chart, chart.name).toMatchObject({ drawn: true, bands: 3 })
      expect(chart.tinted, `${chart.name}: the outage band is drawn`).toBeGreaterThan(2000)
    }
    const timeline = await page.locator('svg.timeline').evaluate((svg) => ({
      phases: svg.querySelectorAll('g.phase').length,
      labels: [...svg.querySelectorAll('.tl-phase')].map((t) => t.textContent),
      rows: svg.querySelectorAll('g.tl-row').length,
      width: svg.getBoundingClientRect().width,
    }))
    expect(timeline).toMatchObject({ phases: 3, labels: ['steady', 'outage', 'recovery'], rows: 4 })
    expect(timeline.width).toBeGreaterThan(1000)
    expect(await page.locator('#phases tbody').count()).toBe(3)
    expect(errors).toEqual([])
    expect(offsite).toEqual([])
    const file = join(browser.dir, 'chaos.png')
    await page.screenshot({ path: file, fullPage: true })
    const png = await readFile(file)
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG')
    expect(png.readUInt32BE(16)).toBe(1280)
    expect(png.length).toBeGreaterThan(100_000)
    await page.close()
  })

  it('runs nothing from hostile strings and fits a phone-width screen', async () => {
    const { page, errors } = await open('chaos-hostile', hostileChaosSummary(), 390)
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(await page.locator('main img, main b').count()).toBe(0)
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0)
    expect(errors).toEqual([])
    await page.close()
  })
})
