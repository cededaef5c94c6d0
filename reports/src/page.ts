// The shell every report page shares: head, inlined chart library and styles, the page's JSON data
// blocks (escaped for <script>), the chart script. Pure; nothing is fetched when the page opens.
import type { ReportAssets } from './assets.ts'
import { escapeHtml, inlineScript, inlineStyle, jsonForScript } from './escape.ts'

export type PageParts = {
  readonly title: string
  /** Our own stylesheet(s), trusted. */
  readonly css: string
  /** The inside of <main>, already escaped. */
  readonly main: string
  /** `<script type="application/json" id=...>` blocks, by id. */
  readonly data: Readonly<Record<string, unknown>>
  readonly assets: ReportAssets
}

export function htmlPage(p: PageParts): string {
  const data = Object.entries(p.data)
    .map(
      ([id, value]) =>
        `<script type="application/json" id="${escapeHtml(id)}">${jsonForScript(value)}</script>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(p.title)}</title>
<style>${inlineStyle(p.assets.chartStyle)}</style>
<style>${inlineStyle(p.css)}</style>
</head>
<body>
<main>
${p.main}
</main>
${data}
<script>${inlineScript(p.assets.chartScript)}</script>
<script>${inlineScript(p.assets.clientScript)}</script>
</body>
</html>
`
}
