// What a reader must know before reading any number of the report, said at its top in words: what
// the mocks answered like (the seed tiers measure the proxy against a ~2 ms mock, not an LLM), the
// engine's blind spots (autocannon), and arrivals that never got a connection.
import { escapeHtml } from './escape.ts'
import { formatInt, formatMs, formatNumber } from './format.ts'
import type { RunSummary } from './summary.ts'

/** A mock at most this fast to the first token, with no real gap between tokens, measures the proxy alone. */
export const FAST_MOCK = { ttftMs: 10, itlMs: 1 } as const

type MockLatency = NonNullable<RunSummary['run']['mock_latency']>

export function isFastMock(mock: MockLatency): boolean {
  return mock.ttft_ms <= FAST_MOCK.ttftMs && mock.itl_ms <= FAST_MOCK.itlMs
}

const plainMs = (value: number) => `${formatNumber(value)} ms`

/** What the mocks answered like, in two plain sentences: a headline and what it means. */
export function mockLatencyText(
  mock: MockLatency,
  profile: string | null,
): { headline: string; body: string } {
  const name = profile ? ` (profile ${profile})` : ''
  const gap = mock.itl_ms === 0 ? 'no gap' : plainMs(mock.itl_ms)
  if (isFastMock(mock)) {
    return {
      headline: 'These numbers measure the proxy, not an LLM.',
      body: `The mock providers answered in about ${plainMs(mock.ttft_ms)} to the first token with ${gap} between tokens${name}: every latency here is the proxy's own time plus about ${plainMs(mock.ttft_ms)}, and every stream arrives at once. A real model takes hundreds of milliseconds to seconds to the first token and tens of milliseconds between tokens.`,
    }
  }
  return {
    headline: 'Mock providers:',
    body: `about ${plainMs(mock.ttft_ms)} to the first token and ${gap} between tokens${name}.`,
  }
}

export function mockLatencyBanner(summary: RunSummary): string {
  const mock = summary.run.mock_latency
  if (!mock) return ''
  const text = mockLatencyText(mock, summary.run.mock_profile)
  return `<aside class="banner banner--info" role="note" id="what-this-measures"><strong>${escapeHtml(text.headline)}</strong> ${escapeHtml(text.body)}${proxyShare(summary)}</aside>`
}

function proxyShare(summary: RunSummary): string {
  const timing = summary.totals.server_timing
  const total = summary.totals.latency_ms
  if (!timing || !total) return ''
  return ` The proxy's own time (its Server-Timing header) was p50 ${formatMs(timing.proxy_ms.p50)} and p95 ${formatMs(timing.proxy_ms.p95)}, of ${formatMs(total.p50)} and ${formatMs(total.p95)} in total.`
}

export function autocannonBanner(summary: RunSummary): string {
  if (summary.run.engine !== 'autocannon') return ''
  const left = summary.totals.in_flight_at_end
  const cut = left
    ? left.count === 0
      ? ' No request was in flight when it stopped.'
      : ` When it stopped, <strong>${formatInt(left.count)} request${left.count === 1 ? ' was' : 's were'} still in flight</strong> (the oldest for ${formatMs(left.oldest_ms)}): autocannon drops them, so they are in neither the ${formatInt(summary.totals.requests)} requests nor the latency.`
    : ' Requests still in flight when it stopped were dropped uncounted.'
  return `<aside class="banner banner--warn" role="note" id="autocannon"><strong>This run used autocannon, a closed loop.</strong> Its rate limiter refills once a second, so requests leave in a burst at each second's start and queue behind each other: p95 and p99 read higher than an evenly paced client would see. Each connection waits for its answer before sending again, so a stall longer than a connection's interval between requests hides the requests that were never sent: use the native engine's open model to see stalls.${cut}</aside>`
}

export function droppedBanner(summary: RunSummary): string {
  const dropped = summary.totals.dropped_iterations ?? 0
  if (dropped === 0) return ''
  const points = summary.timeseries?.points ?? []
  const when = points.filter((p) => (p.dropped ?? 0) > 0)
  const span =
    when.length === 0
      ? ''
      : ` They were dropped between ${formatNumber(when[0].t - (summary.timeseries?.bucket_s ?? 1))} s and ${formatNumber(when[when.length - 1].t)} s (the error-rate chart shows when).`
  return `<aside class="banner banner--warn" role="note" id="dropped"><strong>${formatInt(dropped)} arrivals were dropped:</strong> all ${formatInt(summary.tier.users)} connections were busy when they were due. Each counts as a failed request, and the time it waited for a connection to free up (until the end of the run if none did) is in the latency percentiles as the least it would have taken.${span}</aside>`
}

/** A split run: this is one shard of it (its verdict advisory), or the merge of its shards. */
export function splitBanner(summary: RunSummary): string {
  const segment = summary.run.segment
  if (segment) {
    const lag =
      segment.start_lag_ms === undefined
        ? ''
        : `, ${formatNumber(segment.start_lag_ms)} ms after its start time`
    return `<aside class="banner banner--info" role="note" id="split-run"><strong>One shard of a split run:</strong> execution segment <code>${escapeHtml(segment.segment)}</code> of <code>${escapeHtml(segment.sequence)}</code>, ${formatNumber(segment.share * 100)} % of the tier's arrivals, users and requests (${formatNumber(segment.expected_rps)} of ${formatNumber(summary.tier.expected_rps)} req/s, ${formatInt(segment.users)} of ${formatInt(summary.tier.users)} users), started${lag}. Its baselines are judged on that share; the run's verdict is that of its shards merged (<code>npm run load:merge</code>).</aside>`
  }
  const shards = summary.shards
  if (!shards) return ''
  const rows = shards
    .map(
      (s) =>
        `<code>${escapeHtml(s.segment)}</code> ${formatInt(s.requests)} requests (${escapeHtml(s.status)})`,
    )
    .join(', ')
  return `<aside class="banner banner--info" role="note" id="split-run"><strong>Merged from ${formatInt(shards.length)} shard${shards.length === 1 ? '' : 's'}</strong>, each its own generator running its execution segment of one schedule: ${rows}. Every latency histogram was merged exactly (HDR), so the percentiles are those of one run holding every request; the run is judged as one.</aside>`
}
