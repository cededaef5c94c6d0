// Headless Chromium (Debian's, driven by playwright-core) for the report tests of every report kind
// (tier runs, chaos runs, capacity plans): offline, with console and page errors collected.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { missingTool } from '../../ci/setup-hint.ts'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/google-chrome', '/usr/bin/chromium-browser']
export const CHROMIUM = process.env.CHROMIUM_PATH ?? CANDIDATES.find((p) => existsSync(p)) ?? CANDIDATES[0]
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Why the browser tests are skipped, or undefined when they run. */
export const BROWSER_SKIP_REASON =
  process.env.SKIP_BROWSER_TESTS === '1' ? 'SKIP_BROWSER_TESTS=1 is set' : undefined
if (BROWSER_SKIP_REASON)
  console.warn(`[reports] skipping the real-browser report tests: ${BROWSER_SKIP_REASON}`)

export interface Opened {
  page: Page
  errors: string[]
  offsite: string[]
}

export interface ReportBrowser {
  /** Where reports and screenshots are written (REPORT_ARTIFACTS_DIR keeps them, e.g. for CI). */
  readonly dir: string
  /** Writes html to dir/name.html and opens it; errors and off-site requests are collected. */
  open(name: string, html: string, viewportWidth?: number): Promise<Opened>
  close(): Promise<void>
}

export async function openReportBrowser(): Promise<ReportBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      missingTool(
        `Chromium (${CHROMIUM})`,
        "Debian's chromium",
        'point CHROMIUM_PATH at a Chromium, or set SKIP_BROWSER_TESTS=1 to skip these tests',
      ),
    )
  }
  const keep = process.env.REPORT_ARTIFACTS_DIR
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'report-browser-')))
  await mkdir(dir, { recursive: true })
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  // A report must work offline: only file:// loads are allowed, everything else is aborted.
  await context.route('**/*', (route) =>
    route.request().url().startsWith('file:') ? route.continue() : route.abort('internetdisconnected'),
  )
  return {
    dir,
    async open(name, html, viewportWidth = 1280) {
      const file = join(dir, `${name}.html`)
      await writeFile(file, html)
      const page = await context.newPage()
      await page.setViewportSize({ width: viewportWidth, height: 900 })
      const errors: string[] = []
      const offsite: string[] = []
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console: ${message.text()}`)
      })
      page.on('pageerror', (error) => errors.push(`page: ${error.message}`))
      page.on('dialog', (dialog) => {
        errors.push(`dialog: ${dialog.message()}`)
        void dialog.dismiss()
      })
      page.on('request', (request) => {
        if (!request.url().startsWith('file:')) offsite.push(request.url())
      })
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
      return { page, errors, offsite }
    },
    async close() {
      await browser.close()
      if (!keep) await rm(dir, { recursive: true, force: true })
    },
  }
}
