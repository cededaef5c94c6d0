// The files a report inlines: uPlot's built script and stylesheet, read from node_modules (never
// vendored into git), and our own page script. Read once per process and reused.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

export type ReportAssets = {
  /** The chart library, defining the global `uPlot`. */
  chartScript: string
  chartStyle: string
  /** Draws the charts from the embedded JSON (reports/src/client.js). */
  clientScript: string
}

let cached: ReportAssets | undefined

export function loadAssets(): ReportAssets {
  if (cached) return cached
  const require = createRequire(import.meta.url)
  const read = (path: string | URL) => readFileSync(path, 'utf8')
  cached = {
    chartScript: read(require.resolve('uplot/dist/uPlot.iife.min.js')),
    chartStyle: read(require.resolve('uplot/dist/uPlot.min.css')),
    clientScript: read(new URL('./client.js', import.meta.url)),
  }
  return cached
}
