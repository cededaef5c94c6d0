// Streams and where the time went. Stream figures are shown by how the proxy's cache answered: a
// cache replay (HIT) streams a stored answer at the proxy's speed, a generation (MISS, BYPASS) waits
// for a model, and mixing them makes a TTFT that describes neither. The proxy's own time, from its
// Server-Timing header, is shown beside the total latency it is part of.
import { escapeHtml } from './escape.ts'
import { formatInt, formatMs, formatPercent, formatRate } from './format.ts'
import type { RunSummary, StreamByCache, StreamStats } from './summary.ts'

const CACHE_LABELS: Record<keyof StreamByCache, string> = {
  miss: 'generated (cache MISS)',
  bypass: 'generated (cache BYPASS)',
  none: 'no x-cache header',
  hit: 'cache replay (HIT)',
}
const CACHE_ORDER: readonly (keyof StreamByCache)[] = ['miss', 'bypass', 'none', 'hit']

function num(text: string): string {
  return `<td class="num">${text}</td>`
}

function streamRow(name: string, cache: string, stream: StreamStats): string {
  return `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(cache)}</td>${num(formatInt(stream.streams))}${num(formatMs(stream.ttft_ms?.p50))}${num(formatMs(stream.ttft_ms?.p95))}${num(formatMs(stream.ttft_ms?.p99))}${num(formatMs(stream.itl_ms?.p50))}${num(formatMs(stream.itl_ms?.p95))}${num(formatRate(stream.tokens_per_s, 'tok/s'))}<td class="num${stream.truncated > 0 ? ' bad' : ''}">${formatInt(stream.truncated)} (${formatPercent(stream.truncated_rate)})</td></tr>`
}

/** One row per cache status (when the run told them apart), else one row of all streams. */
function rowsOf(name: string, stream: StreamStats, byCache: StreamByCache | undefined): string[] {
  if (!byCache) return [streamRow(name, 'all (not told apart)', stream)]
  return CACHE_ORDER.flatMap((status) => {
    const stats = byCache[status]
    return stats ? [streamRow(name, CACHE_LABELS[status], stats)] : []
  })
}

export function streamTable(summary: RunSummary): string {
  const rows = summary.scenarios.flatMap((s) => (s.stream ? rowsOf(s.name, s.stream, s.stream_by_cache) : []))
  const { stream: total, stream_by_cache: totalByCache } = summary.totals
  if (rows.length === 0 && !total) return ''
  const streamed = summary.scenarios.filter((s) => s.stream).length
  const foot =
    total && streamed !== 1
      ? `<tfoot>${rowsOf('All streams', total, totalByCache).join('')}${totalByCache ? streamRow('All streams', 'all', total) : ''}</tfoot>`
      : ''
  const body = rows.length ? rows : rowsOf('All streams', total!, totalByCache)
  return `<h3 class="subhead">Streams, by cache status</h3><div class="table-wrap"><table>
<thead><tr><th>Scenario</th><th>Answered as</th><th class="num">Streams</th><th class="num">TTFT p50</th><th class="num">TTFT p95</th><th class="num">TTFT p99</th><th class="num">ITL p50</th><th class="num">ITL p95</th><th class="num">Tokens/s</th><th class="num">Truncated</th></tr></thead>
<tbody>${body.join('\n')}</tbody>${foot}</table></div>
<p class="note">TTFT: time to the first content chunk. ITL: gap between consecutive chunks. Truncated: streams cut before their end. A cache replay (x-cache HIT) is the proxy streaming a stored answer: its TTFT and tokens/s are the proxy's, not a model's; the TTFT and ITL charts follow generated streams only.</p>`
}

/** The proxy's own time and the upstream time beside the total latency (Server-Timing). */
export function attributionSection(summary: RunSummary): string {
  const timing = summary.totals.server_timing
  const total = summary.totals.latency_ms
  if (!timing) return ''
  const row = (label: string, s: { p50: number; p95: number; p99: number; mean: number } | undefined) =>
    `<tr><th scope="row">${escapeHtml(label)}</th>${num(formatMs(s?.p50))}${num(formatMs(s?.p95))}${num(formatMs(s?.p99))}${num(formatMs(s?.mean))}</tr>`
  const share = total && total.mean > 0 ? timing.proxy_ms.mean / total.mean : null
  return `<section id="attribution" class="card"><h2>Where the time went</h2><p class="lead">The proxy reports its own time and the time it waited for providers in its <code>Server-Timing</code> header (${formatInt(timing.requests)} successful requests carried it)${share === null ? '' : `: on average its own time was ${formatPercent(Math.min(1, share))} of the total`}.</p><div class="table-wrap"><table class="narrow">
<thead><tr><th></th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">Mean</th></tr></thead>
<tbody>${row('Total latency (measured by the generator)', total)}${row("The proxy's own time (proxy;dur)", timing.proxy_ms)}${timing.upstream_ms ? row('Waiting for providers (upstream;dur)', timing.upstream_ms) : ''}</tbody></table></div>
<p class="note">Percentiles of each row are taken separately, so they do not add up. For a stream the header leaves with the first byte: its proxy and upstream times cover the opening of the stream, not the tokens after it. A cache hit has no upstream time.</p></section>`
}
