// The text summary a run prints: verdict, what the run measured (the mocks, the engine), baselines
// with margins, totals, where the time went, streams by cache status and scenarios.
import { changeText } from '../../reports/src/format.ts'
import { mockLatencyText } from '../../reports/src/notices.ts'
import type { RunSummary, StreamByCache, StreamStats } from '../../reports/src/summary.ts'
import { AUTOCANNON_NOTES } from '../engines/autocannon.ts'

const pad = (value: string, width: number) => value.padEnd(width)
const num = (value: number | undefined | null, digits = 1) =>
  value === undefined || value === null ? '-' : value.toFixed(digits)

export function formatRunTable(summary: RunSummary, reportPath?: string): string {
  const lines: string[] = []
  const { run, totals } = summary
  lines.push(
    `${summary.status.toUpperCase()}  ${run.tier} tier, ${run.engine} engine, ${run.load_model} model, ${run.duration_s} s (scale ${run.duration_scale}), seed ${run.seed}`,
  )
  if (summary.status_reason) lines.push(`  ${summary.status_reason}`)
  lines.push(...splitLines(summary))
  if (run.mock_latency) {
    const text = mockLatencyText(run.mock_latency, run.mock_profile)
    lines.push(`  ! ${text.headline} ${text.body}`)
  }
  lines.push('')
  lines.push(`  ${pad('baseline', 58)} ${pad('actual', 10)} ${pad('margin', 8)} result`)
  for (const b of summary.baselines) {
    const actual =
      b.actual === null ? 'n/a' : b.unit === 'ratio' ? `${(b.actual * 100).toFixed(2)} %` : num(b.actual, 2)
    const margin = b.margin === null ? '-' : `${b.margin >= 0 ? '+' : ''}${(b.margin * 100).toFixed(0)} %`
    lines.push(`  ${pad(b.name, 58)} ${pad(actual, 10)} ${pad(margin, 8)} ${b.passed ? 'pass' : 'FAIL'}`)
  }
  for (const v of summary.regression?.verdicts ?? []) {
    const points = v.change_unit === 'points'
    const change = changeText(v.change, v.change_unit)
    const interval = `[${changeText(v.interval.low, v.change_unit)}, ${changeText(v.interval.high, v.change_unit)}]`
    const reference = points ? `${(v.baseline * 100).toFixed(2)} %` : num(v.baseline, 2)
    lines.push(
      `  ${pad(`regression ${v.metric} vs ${reference}`, 58)} ${pad(change, 10)} ${pad(interval, 8)} ${v.verdict}`,
    )
  }
  lines.push('')
  const lat = totals.latency_ms
  lines.push(
    `  requests ${totals.requests}, errors ${totals.errors} (${(totals.error_rate * 100).toFixed(2)} %), ${num(totals.rps, 2)} req/s over the run` +
      (totals.rps_after_ramp_up !== undefined
        ? `, ${num(totals.rps_after_ramp_up, 2)} successful req/s after the ramp-up`
        : '') +
      (totals.dropped_iterations !== undefined
        ? `, dropped ${totals.dropped_iterations}${totals.dropped_iterations > 0 ? ' (failed; their wait for a connection is in the latency)' : ''}`
        : ''),
  )
  if (lat)
    lines.push(
      `  latency ms: p50 ${num(lat.p50, 2)}  p90 ${num(lat.p90, 2)}  p95 ${num(lat.p95, 2)}  p99 ${num(lat.p99, 2)}  max ${num(lat.max, 2)}`,
    )
  const timing = totals.server_timing
  if (timing) {
    lines.push(
      `  proxy's own time ms (Server-Timing): p50 ${num(timing.proxy_ms.p50, 2)}  p95 ${num(timing.proxy_ms.p95, 2)}  mean ${num(timing.proxy_ms.mean, 2)}` +
        (timing.upstream_ms
          ? `; upstream p50 ${num(timing.upstream_ms.p50, 2)}  p95 ${num(timing.upstream_ms.p95, 2)}`
          : '') +
        (lat ? `; of total p50 ${num(lat.p50, 2)}  p95 ${num(lat.p95, 2)}` : ''),
    )
  }
  if (totals.x_cache) {
    const c = totals.x_cache
    const answered = c.hit + c.miss + c.bypass + c.none
    lines.push(
      `  x-cache of successful requests: HIT ${c.hit} (${answered === 0 ? '-' : ((c.hit / answered) * 100).toFixed(1)} %), MISS ${c.miss}, BYPASS ${c.bypass}, none ${c.none}`,
    )
  }
  if (totals.stream) lines.push(...streamLines(totals.stream, totals.stream_by_cache))
  if (totals.in_flight_at_end) {
    const left = totals.in_flight_at_end
    lines.push(
      `  autocannon dropped ${left.count} request${left.count === 1 ? '' : 's'} still in flight when it stopped (oldest ${num(left.oldest_ms, 1)} ms): ${totals.requests} recorded of ${totals.requests + left.count} sent`,
    )
  }
  lines.push('')
  lines.push(
    `  ${pad('scenario', 12)} ${pad('weight', 7)} ${pad('requests', 9)} ${pad('errors', 7)} ${pad('p50 ms', 8)} ${pad('p95 ms', 8)}`,
  )
  for (const s of summary.scenarios) {
    if (s.skipped) {
      lines.push(`  ${pad(s.name, 12)} skipped: ${s.skipped.reason}`)
      continue
    }
    lines.push(
      `  ${pad(s.name, 12)} ${pad(num(s.weight, 2), 7)} ${pad(String(s.requests), 9)} ${pad(String(s.errors), 7)} ${pad(num(s.latency_ms?.p50, 2), 8)} ${pad(num(s.latency_ms?.p95, 2), 8)}`,
    )
  }
  const kinds = Object.entries(summary.errors_by_kind)
  if (kinds.length > 0) lines.push(`  errors by kind: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`)
  if (run.engine === 'autocannon') for (const note of AUTOCANNON_NOTES.slice(0, 2)) lines.push(`  ! ${note}`)
  if (summary.generator?.limited) {
    lines.push(
      '  ! INCONCLUSIVE: the generator may have been the limit, so this run neither passes nor fails the target:',
    )
    for (const reason of summary.generator.reasons ?? [summary.generator.note ?? ''])
      lines.push(`    - ${reason}`)
  }
  if (reportPath) lines.push('', `  report: ${reportPath}`)
  return lines.map((line) => line.trimEnd()).join('\n')
}

/** Which part of a split run this is, and the targets when there were several. */
function splitLines(summary: RunSummary): string[] {
  const { run } = summary
  const lines: string[] = []
  if (run.targets)
    lines.push(`  targets: ${run.targets.join(', ')} (request k to target k mod ${run.targets.length})`)
  if (run.segment) {
    const s = run.segment
    lines.push(
      `  shard: execution segment ${s.segment} of ${s.sequence} (${s.expected_rps} of ${summary.tier.expected_rps} req/s, ${s.users} of ${summary.tier.users} users)${s.start_lag_ms === undefined ? '' : `, started ${num(s.start_lag_ms, 2)} ms late`}; judged on its share: the run's verdict is the merged shards' (npm run load:merge)`,
    )
  }
  if (summary.shards) {
    lines.push(
      `  merged from ${summary.shards.length} shards: ${summary.shards.map((s) => `${s.segment} ${s.requests} requests (${s.status})`).join(', ')}`,
    )
  }
  return lines
}

const CACHE_NAMES: Record<keyof StreamByCache, string> = {
  miss: 'generated (MISS)',
  bypass: 'generated (BYPASS)',
  none: 'no x-cache',
  hit: 'cache replays (HIT)',
}

function streamLine(label: string, s: StreamStats): string {
  return `  ${label} ${s.streams}: TTFT p50 ${num(s.ttft_ms?.p50, 2)} / p95 ${num(s.ttft_ms?.p95, 2)} ms, ITL p50 ${num(s.itl_ms?.p50, 2)} / p95 ${num(s.itl_ms?.p95, 2)} ms, ${num(s.tokens_per_s, 0)} tok/s, truncated ${s.truncated}`
}

/** Streams by cache status: a replay's TTFT is the proxy's, a generation's the model's. */
function streamLines(all: StreamStats, byCache: StreamByCache | undefined): string[] {
  if (!byCache) return [streamLine('streams', all)]
  const parts = (Object.keys(CACHE_NAMES) as (keyof StreamByCache)[]).flatMap((status) => {
    const s = byCache[status]
    return s ? [streamLine(`streams, ${CACHE_NAMES[status]}`, s)] : []
  })
  return [
    `  streams ${all.streams} (truncated ${all.truncated}), by cache status:`,
    ...parts.map((p) => `  ${p}`),
  ]
}
