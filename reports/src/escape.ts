// Everything that reaches the HTML from a summary goes through one of these: scenario names, URLs
// and error kinds come from runs and configs, and a report must never execute or render them as markup.

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c])
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` become unicode escapes so no
 * `</script>` or `<!--` can end or alter the block, and U+2028/U+2029 are escaped for old parsers.
 * JSON.parse of the block's text gives the value back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** Makes trusted script source (the chart library, our client code) safe to inline in `<script>`. */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')
}

/** Makes trusted CSS safe to inline in `<style>`. */
export function inlineStyle(source: string): string {
  return source.replace(/<\/(style)/gi, '<\\/$1')
}
