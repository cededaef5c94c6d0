// The capacity report: a pure, self-contained rendering of the capacity summary, shown in headless
// Chromium as a person would see it: every chart drawn, no console error, nothing run from the data.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatCapacityTable } from '../../scenarios/capacity/table.ts'
import { renderCapacityReport } from '../src/capacity-render.ts'
import { type CapacitySummary, parseCapacitySummary } from '../src/capacity-summary.ts'
import { BROWSER_SKIP_REASON, openReportBrowser, type ReportBrowser } from './browser.ts'
import { CAPACITY_CHARTS, capacitySummary } from './capacity-fixtures.ts'
import { INJECTED } from './hostile.ts'

let summary: CapacitySummary
beforeAll(async () => {
  summary = await capacitySummary()
})

function embedded(html: string, id: string): unknown {
  const match = html.match(new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`))
  if (!match) throw new Error(`no #${id} block`)
  return JSON.parse(match[1])
}

describe('renderCapacityReport', () => {
  it('is deterministic and embeds the summary as JSON that reads back unchanged', () => {
    const html = renderCapacityReport(summary)
    expect(renderCapacityReport(parseCapacitySummary(JSON.stringify(summary)))).toBe(html)
    expect(embedded(html, 'capacity-summary')).toEqual(summary)
    expect(Object.keys(embedded(html, 'report-charts') as object)).toEqual(CAPACITY_CHARTS)
  })

  it('answers the questions: capacity per instance, what binds, the held-out check, the instances', () => {
    const html = renderCapacityReport(summary)
    expect(html).toContain('One instance, 1 worker')
    expect(html).toContain('One instance, 2 workers')
    expect(html).toContain('upstream connections (pool limit)')
    expect(html).toContain('Held-out check: predicted against measured')
    expect(html).toContain('Instances needed')
    expect(html).toContain('100,000 users')
    expect(html).toMatch(/within 15/)
  })

  it('says when the SLO knee its sweep measured, not a resource, is what an instance is planned by', () => {
    // The synthetic proxy's SLO breaks at 32 req/s, under its pool's modelled ceiling (32.48 req/s).
    expect(summary.sizing?.options[0]).toMatchObject({
      capacity_rps: summary.sweeps[0].knee.rate,
      binding: 'slo',
    })
    expect(renderCapacityReport(summary)).toContain('<td>the SLO: the knee its sweep measured</td>')
    expect(formatCapacityTable(summary)).toMatch(/1 worker: ceiling [\d.]+ req\/s \(the measured SLO knee\)/)
  })

  it('shows hostile strings as text', () => {
    const hostile = structuredClone(summary)
    hostile.workload.scenarios[0].name = INJECTED.name
    hostile.workload.description = INJECTED.text
    hostile.run.command = INJECTED.name
    hostile.sweeps[0].binding.evidence = INJECTED.kind
    hostile.notes = [INJECTED.name]
    const html = renderCapacityReport(parseCapacitySummary(hostile))
    expect(html).not.toContain('<script>window.__pwned')
    expect(html).not.toContain('<svg onload')
    expect(html).not.toContain('<b onmouseover')
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;window.__pwned = 1')
  })

  it('rejects a summary of another kind or version', () => {
    expect(() => parseCapacitySummary({ ...summary, schema_version: 2 })).toThrow(/schema_version/)
    expect(() => parseCapacitySummary({ ...summary, kind: 'tier' })).toThrow(/kind/)
  })
})

const suite = BROWSER_SKIP_REASON ? describe.skip : describe

suite(`capacity report in headless Chromium${BROWSER_SKIP_REASON ? ` (skipped: ${BROWSER_SKIP_REASON})` : ''}`, () => {
  let browser: ReportBrowser

  beforeAll(async () => {
    browser = await openReportBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })

  function charts(page: Page) {
    return page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-chart]')].map((figure) => {
        let colored = 0
        for (const canvas of figure.querySelectorAll('canvas')) {
          const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
          for (let i = 0; i < pixels.length; i += 4) {
            const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]]
            if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++
          }
        }
        return { name: figure.dataset.chart, drawn: figure.dataset.drawn === 'true', colored }
      }),
    )
  }

  it('draws every chart, offline, with no console or page error, and screenshots as a real PNG', async () => {
    const { page, errors, offsite } = await browser.open('capacity', renderCapacityReport(summary))
    const drawn = await charts(page)
    expect(drawn.map((c) => c.name)).toEqual(CAPACITY_CHARTS)
    for (const chart of drawn) {
      expect(chart.drawn, chart.name).toBe(true)
      expect(chart.colored, `${chart.name} has plotted pixels`).toBeGreaterThan(300)
    }
    const file = join(browser.dir, 'capacity.png')
    await page.screenshot({ path: file, fullPage: true })
    const png = await readFile(file)
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a')
    expect(png.readUInt32BE(16)).toBe(1280)
    expect(png.readUInt32BE(20)).toBeGreaterThan(2000)
    expect(png.length).toBeGreaterThan(100_000)
    expect(errors).toEqual([])
    expect(offsite).toEqual([])
    await page.close()
  })

  it('fits a phone-width screen without horizontal scrolling of the page', async () => {
    const { page, errors } = await browser.open('capacity-narrow', renderCapacityReport(summary), 390)
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0)
    expect(errors).toEqual([])
    await page.close()
  })
})
