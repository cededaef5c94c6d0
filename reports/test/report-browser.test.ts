// Opens generated reports in Debian's headless Chromium (driven by playwright-core), offline, and
// checks what a person would see: no errors, every measured chart drawn, notes where nothing was.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderReport } from '../src/render.ts'
import type { RunSummary } from '../src/summary.ts'
import { BROWSER_SKIP_REASON, type Opened, openReportBrowser, type ReportBrowser } from './browser.ts'
import { CHART_NAMES, failedSummary, minimalSummary, streamingSummary } from './fixtures.ts'
import { hostileSummary } from './hostile.ts'

type ChartState = { name: string; drawn: boolean; canvases: number; colored: number; missingNote: boolean }

const suite = BROWSER_SKIP_REASON ? describe.skip : describe

suite(`report in headless Chromium${BROWSER_SKIP_REASON ? ` (skipped: ${BROWSER_SKIP_REASON})` : ''}`, () => {
  let browser: ReportBrowser
  let dir: string

  beforeAll(async () => {
    browser = await openReportBrowser()
    dir = browser.dir
  })

  afterAll(async () => {
    await browser?.close()
  })

  const open = (name: string, summary: RunSummary, viewportWidth = 1280): Promise<Opened> =>
    browser.open(name, renderReport(summary), viewportWidth)

  function chartStates(page: Page): Promise<ChartState[]> {
    return page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-chart]')].map((figure) => {
        const canvases = [...figure.querySelectorAll('canvas')]
        let colored = 0
        for (const canvas of canvases) {
          const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
          // Axes and grid are grey; count saturated, opaque pixels: the plotted series.
          for (let i = 0; i < pixels.length; i += 4) {
            const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]]
            if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++
          }
        }
        return {
          name: figure.dataset.chart ?? '',
          drawn: figure.dataset.drawn === 'true',
          canvases: canvases.length,
          colored,
          missingNote:
            figure.querySelector('.chart-missing')?.textContent?.includes('Not measured in this run') ??
            false,
        }
      }),
    )
  }

  it('draws every chart of a full report, offline, with no console or page error', async () => {
    const { page, errors, offsite } = await open('streaming', streamingSummary())
    const charts = await chartStates(page)
    expect(charts.map((c) => c.name)).toEqual(CHART_NAMES)
    for (const chart of charts) {
      expect(chart, chart.name).toMatchObject({ drawn: true, missingNote: false })
      expect(chart.canvases, chart.name).toBeGreaterThan(0)
      expect(chart.colored, `${chart.name} has plotted pixels`).toBeGreaterThan(300)
    }
    expect(errors).toEqual([])
    expect(offsite).toEqual([])
    await page.close()
  })

  it('shows a "not measured" note, not an empty canvas, for each chart without data', async () => {
    const { page, errors } = await open('minimal', minimalSummary())
    const charts = await chartStates(page)
    expect(charts.map((c) => c.name)).toEqual(CHART_NAMES)
    for (const chart of charts)
      expect(chart, chart.name).toMatchObject({ drawn: false, canvases: 0, missingNote: true })
    expect(errors).toEqual([])
    await page.close()
  })

  it('runs no script and renders no element carried by hostile strings', async () => {
    const { page, errors } = await open('hostile', hostileSummary())
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(await page.locator('main img, main svg, main b').count()).toBe(0)
    expect(await page.locator('#scenarios tbody th').first().textContent()).toContain('</script><script>')
    expect(errors).toEqual([])
    await page.close()
  })

  it('fits a phone-width screen without horizontal scrolling of the page', async () => {
    const { page, errors } = await open('narrow', failedSummary(), 390)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    const charts = await chartStates(page)
    for (const chart of charts.filter((c) => c.drawn)) expect(chart.colored, chart.name).toBeGreaterThan(100)
    expect(errors).toEqual([])
    await page.close()
  })

  it('takes a full-page screenshot that is a real, non-trivial PNG', async () => {
    const { page, errors } = await open('failed', failedSummary())
    const file = join(dir, 'failed.png')
    await page.screenshot({ path: file, fullPage: true })
    const png = await readFile(file)
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a')
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR')
    expect(png.readUInt32BE(16)).toBe(1280)
    expect(png.readUInt32BE(20)).toBeGreaterThan(2000)
    expect(png.length).toBeGreaterThan(100_000)
    expect(errors).toEqual([])
    await page.close()
  })
})
