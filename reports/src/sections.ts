// The report's header (verdict and key figures) and its descriptive sections: the generator's
// health, the tier definition and the run environment.
import { escapeHtml } from './escape.ts'
import {
  formatDuration,
  formatInt,
  formatMs,
  formatNumber,
  formatPercent,
  formatRate,
  formatTimestamp,
} from './format.ts'
import type { RunSummary } from './summary.ts'

const STATUS_TEXT: Record<RunSummary['status'], string> = {
  passed: 'Passed',
  failed: 'Failed',
  inconclusive: 'Inconclusive',
  broken: 'Broken',
}

const STATUS_HINT: Record<RunSummary['status'], string> = {
  passed: 'Every baseline held.',
  failed: 'At least one baseline failed or a metric regressed.',
  inconclusive:
    'The run cannot judge the target: the load generator may have been the limit (its numbers include its own delay), the run was too short to show what a baseline asks, or the regression gate it required could not run. It neither passes nor fails.',
  broken: 'The run itself broke; its numbers are incomplete.',
}

export function definitionList(items: [string, string][]): string {
  return `<dl class="facts">${items.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>`
}

export type Kpi = { label: string; value: string; detail: string; state: 'good' | 'bad' | 'neutral' }

export function kpi(k: Kpi): string {
  return `<div class="kpi kpi--${k.state}"><div class="kpi-label">${escapeHtml(k.label)}</div><div class="kpi-value">${k.value}</div><div class="kpi-detail">${k.detail}</div></div>`
}

function percentileOf(summary: RunSummary): number | undefined {
  const l = summary.totals.latency_ms
  if (!l) return undefined
  const p = summary.tier.latency_target.percentile
  const known: Record<number, number> = { 50: l.p50, 90: l.p90, 95: l.p95, 99: l.p99 }
  return known[p]
}

/**
 * The throughput KPI is the throughput baseline's own figure: successful requests per second after the
 * ramp-up, judged by that baseline. A summary without it (schema 1) falls back to the whole run's rate.
 */
function throughputKpi(summary: RunSummary): Kpi {
  const { totals, tier } = summary
  const baseline = summary.baselines.find((b) => b.metric === 'rps_after_ramp_up')
  const steady = totals.rps_after_ramp_up ?? baseline?.actual ?? null
  if (steady === null) {
    return {
      label: 'Throughput',
      value: formatRate(totals.rps, 'req/s'),
      detail: `whole run, ramp-up included; expected ${formatNumber(tier.expected_rps)} req/s`,
      state: 'neutral',
    }
  }
  return {
    label: 'Throughput after ramp-up',
    value: formatRate(steady, 'req/s'),
    detail: `successful requests; expected ${formatNumber(tier.expected_rps)} req/s${baseline ? `, at least ${formatNumber(baseline.threshold)}` : ''}`,
    state: baseline ? (baseline.passed ? 'good' : 'bad') : 'neutral',
  }
}

function streamKpi(summary: RunSummary): Kpi | null {
  const stream = summary.totals.stream
  if (!stream) return null
  const byCache = summary.totals.stream_by_cache
  // Generations (not cache replays) are what a TTFT is about; replays are shown beside them.
  const generated = byCache?.miss ?? byCache?.bypass ?? byCache?.none
  const hit = byCache?.hit
  if (!byCache) {
    return {
      label: 'TTFT p95',
      value: formatMs(stream.ttft_ms?.p95),
      detail: `p50 ${formatMs(stream.ttft_ms?.p50)}, ${formatInt(stream.streams)} streams, cache replays not told apart`,
      state: 'neutral',
    }
  }
  return {
    label: 'TTFT p95, generated',
    value: formatMs(generated?.ttft_ms?.p95),
    detail: `${formatInt(generated?.streams ?? 0)} streams${hit ? `; cache replays (HIT) p95 ${formatMs(hit.ttft_ms?.p95)} over ${formatInt(hit.streams)}` : ''}`,
    state: 'neutral',
  }
}

function proxyTimeKpi(summary: RunSummary): Kpi | null {
  const timing = summary.totals.server_timing
  if (!timing) return null
  const total = summary.totals.latency_ms
  return {
    label: "Proxy's own time p50",
    value: formatMs(timing.proxy_ms.p50),
    detail: `of ${formatMs(total?.p50)} total p50; p95 ${formatMs(timing.proxy_ms.p95)}${timing.upstream_ms ? `; upstream p50 ${formatMs(timing.upstream_ms.p50)}` : ''}`,
    state: 'neutral',
  }
}

function kpis(summary: RunSummary): string {
  const { totals, tier } = summary
  const target = tier.latency_target
  const p = percentileOf(summary)
  const dropped = totals.dropped_iterations ?? 0
  const items: Kpi[] = [
    {
      label: 'Requests',
      value: formatInt(totals.requests),
      detail: dropped ? `${formatInt(dropped)} of them dropped arrivals (failed)` : 'completed or failed',
      state: 'neutral',
    },
    throughputKpi(summary),
    {
      label: `Latency p${formatNumber(target.percentile)}`,
      value: formatMs(p),
      detail: `target below ${formatMs(target.max_ms)}`,
      state: p === undefined ? 'neutral' : p < target.max_ms ? 'good' : 'bad',
    },
    {
      label: 'Error rate',
      value: formatPercent(totals.error_rate),
      detail: `limit ${formatPercent(tier.error_rate_max)}`,
      state: totals.error_rate <= tier.error_rate_max ? 'good' : 'bad',
    },
  ]
  if (dropped > 0) {
    items.push({
      label: 'Dropped arrivals',
      value: formatInt(dropped),
      detail: `all ${formatInt(tier.users)} connections were busy; counted as failed, their wait in the latency`,
      state: 'bad',
    })
  }
  const proxy = proxyTimeKpi(summary)
  if (proxy) items.push(proxy)
  const streamTtft = streamKpi(summary)
  const stream = totals.stream
  if (stream && streamTtft) {
    items.push(streamTtft, {
      label: 'Truncated streams',
      value: formatPercent(stream.truncated_rate),
      detail: `${formatInt(stream.truncated)} cut before the end`,
      state: stream.truncated === 0 ? 'good' : 'neutral',
    })
  }
  // A broken or inconclusive run's numbers cannot be judged: show them without judging them.
  const judged = summary.status !== 'broken' && summary.status !== 'inconclusive'
  const shown = judged ? items : items.map((k) => ({ ...k, state: 'neutral' as const }))
  return `<div class="kpis">${shown.map(kpi).join('')}</div>`
}

export function header(summary: RunSummary): string {
  const { run, status } = summary
  const reason = summary.status_reason
    ? `<p class="verdict-reason">${escapeHtml(summary.status_reason)}</p>`
    : ''
  // Said beside the verdict: a pass no regression gate judged is not a gated pass.
  const skipped = summary.regression_skipped
  const notGated = skipped
    ? `<p class="verdict-reason" id="not-gated">Not gated against a baseline: ${escapeHtml(skipped.reason)}</p>`
    : ''
  const scale = run.duration_scale === 1 ? '' : ` (time scale ${formatNumber(run.duration_scale)})`
  const meta: [string, string][] = [
    ['Tier', `<strong>${escapeHtml(run.tier)}</strong>`],
    ['Engine', `${escapeHtml(run.engine)}${run.engine_version ? ` ${escapeHtml(run.engine_version)}` : ''}`],
    ['Load model', run.load_model === 'open' ? 'open (arrival rate)' : 'closed (users with think time)'],
    ['Duration', `${formatDuration(run.duration_s)}${scale}`],
    ['Started', formatTimestamp(run.started_at)],
    run.targets
      ? [
          'Targets',
          `${run.targets.map((t) => `<code>${escapeHtml(t)}</code>`).join(', ')} (request k to target k mod ${run.targets.length})`,
        ]
      : ['Target', `<code>${escapeHtml(run.target_url)}</code>`],
  ]
  return `<header class="masthead status-${status}">
<div class="verdict"><span class="verdict-badge">${STATUS_TEXT[status]}</span><div><h1>Load report: ${escapeHtml(run.tier)} tier</h1><p class="verdict-hint">${STATUS_HINT[status]} Run <code>${escapeHtml(run.id)}</code>.</p>${reason}${notGated}</div></div>
${definitionList(meta)}
${kpis(summary)}
</header>`
}

export function generatorBanner(summary: RunSummary): string {
  const g = summary.generator
  if (!g?.limited) return ''
  const intended =
    g.intended_rps === undefined ? '' : ` of the intended ${formatRate(g.intended_rps, 'req/s')}`
  const cpu =
    g.cpu_percent_max === undefined ? '' : `, generator CPU peaked at ${formatNumber(g.cpu_percent_max)} %`
  const reasons = g.reasons?.length
    ? `<ul>${g.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`
    : g.note
      ? ` ${escapeHtml(g.note)}`
      : ''
  return `<aside class="banner banner--warn" role="note" id="generator-limited"><strong>The load generator may have been the limit: this run is inconclusive.</strong> It achieved ${formatRate(g.achieved_rps, 'req/s')}${intended}${cpu}: the numbers below measure the harness as much as the proxy, so they neither pass nor fail it.${reasons}</aside>`
}

export function tierSection(summary: RunSummary): string {
  const { tier } = summary
  const think = tier.think_time_s
  const totalWeight = tier.scenarios.reduce((sum, s) => sum + s.weight, 0)
  const mix = tier.scenarios
    .map(
      (s) =>
        `${escapeHtml(s.name)} ${totalWeight > 0 ? formatPercent(s.weight / totalWeight) : formatNumber(s.weight)}`,
    )
    .join(', ')
  const items: [string, string][] = [
    ['Users', formatInt(tier.users)],
    ['Duration', formatDuration(tier.duration_s)],
    ['Ramp-up', formatDuration(tier.ramp_up_s)],
    ['Expected rate', formatRate(tier.expected_rps, 'req/s')],
    [
      'Latency target',
      `p${formatNumber(tier.latency_target.percentile)} below ${formatMs(tier.latency_target.max_ms)}`,
    ],
    ['Error-rate limit', formatPercent(tier.error_rate_max)],
    [
      'Think time',
      think
        ? think.min === think.max
          ? `${formatNumber(think.min)} s`
          : `${formatNumber(think.min)}\u2013${formatNumber(think.max)} s`
        : 'none',
    ],
    ['Scenario mix', mix],
  ]
  return `<section id="tier" class="card"><h2>Tier definition: ${escapeHtml(tier.name)}</h2>${definitionList(items)}</section>`
}

export function environmentSection(summary: RunSummary): string {
  const { environment: env, run, generator } = summary
  const items: [string, string][] = [
    ['Node.js', escapeHtml(env.node_version)],
    ['OS', escapeHtml(env.arch ? `${env.os} (${env.arch})` : env.os)],
    ['CPU', `${escapeHtml(env.cpu_model)} \u00d7 ${formatInt(env.cpu_count)}`],
    ['Memory', `${formatNumber(env.total_memory_mb / 1024)} GiB`],
    ['Git commit', env.git_commit ? `<code>${escapeHtml(env.git_commit)}</code>` : 'unknown'],
    ['Mock profile', run.mock_profile ? escapeHtml(run.mock_profile) : 'none (external target)'],
    ['Seed', escapeHtml(String(run.seed))],
    ['Ended', formatTimestamp(run.ended_at)],
  ]
  if (generator) {
    const cpu =
      generator.cpu_percent_mean === undefined
        ? ''
        : `, CPU mean ${formatNumber(generator.cpu_percent_mean)} %${generator.cpu_percent_max === undefined ? '' : ` / max ${formatNumber(generator.cpu_percent_max)} %`}`
    const intended =
      generator.intended_rps === undefined
        ? ''
        : ` of ${formatRate(generator.intended_rps, 'req/s')} intended`
    const loop =
      generator.event_loop_utilization === undefined
        ? ''
        : `, event loop busy ${formatPercent(generator.event_loop_utilization)}${generator.event_loop_delay_ms ? `, its delay p99 ${formatMs(generator.event_loop_delay_ms.p99)}` : ''}`
    const lag = generator.send_lag_ms ? `, send lag p99 ${formatMs(generator.send_lag_ms.p99)}` : ''
    items.push([
      'Generator',
      `${formatRate(generator.achieved_rps, 'req/s')}${intended}${cpu}${loop}${lag}; ${generator.limited ? '<strong class="bad">may have been the limit</strong>' : 'not the limit'}`,
    ])
  }
  const notes = env.generator_notes?.length
    ? `<ul class="notes">${env.generator_notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`
    : ''
  return `<section id="environment" class="card"><h2>Run environment</h2>${definitionList(items)}
<p class="command"><span>Command</span><code>${escapeHtml(run.command)}</code></p>${notes}</section>`
}
