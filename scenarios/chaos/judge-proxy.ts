// Assertions on the proxy itself: its breakers (read from /metrics), whether /health and
// /health/providers told the truth, its memory and worker count (from /proc), whether its own
// failure counter matches what the clients saw, and how a SIGTERMed instance drained.
import {
  count,
  type Evidence,
  fromText,
  type PhaseView,
  pct,
  requestsIn,
  round,
  samplesIn,
  sText,
  type Verdict,
  verdict,
} from './evidence.ts'
import type { HealthSample } from './observe.ts'
import type { RequestRecord } from './request.ts'
import type { Assert } from './schema.ts'

const rel = (t: number, origin: number) => `+${round(t - origin, 1)} s`

export function breaker(a: Assert<'breaker'>, v: PhaseView, e: Evidence): Verdict {
  const { phase } = v
  const samples = e.metrics.flatMap((s) =>
    s.breakers?.[a.provider] ? [{ t: s.t, state: s.breakers[a.provider] }] : [],
  )
  const parts: string[] = []
  const actual: string[] = []
  let passed = true
  if (samples.length === 0) {
    const expected = `breaker of ${a.provider}: ${a.stays_closed ? 'stays closed' : 'opens and closes'}`
    return verdict(a.kind, expected, `not measured: /metrics reported no breaker for ${a.provider}`, false)
  }
  const during = samplesIn(samples, phase.start, phase.end)
  if (a.stays_closed) {
    parts.push('stays closed')
    const notClosed = during.filter((s) => s.state !== 'closed')
    passed = during.length > 0 && notClosed.length === 0
    actual.push(
      during.length === 0
        ? 'no sample in the phase'
        : notClosed.length
          ? `${notClosed[0].state} at ${rel(notClosed[0].t, phase.start)} (${notClosed.length} of ${during.length} samples not closed)`
          : `closed in all ${during.length} samples`,
    )
  }
  if (a.opens_within !== undefined) {
    parts.push(`opens within ${sText(a.opens_within)} of the fault`)
    const opened = samples.find((s) => s.t >= phase.start && s.state !== 'closed')
    const inTime = opened !== undefined && opened.t <= phase.start + a.opens_within
    passed &&= inTime
    actual.push(opened ? `${opened.state} at ${rel(opened.t, phase.start)}` : 'never opened')
  }
  if (a.closes_within !== undefined) {
    parts.push(`closed within ${sText(a.closes_within)} of its end`)
    const closed = samples.find((s) => s.t >= phase.end && s.state === 'closed')
    const inTime = closed !== undefined && closed.t <= phase.end + a.closes_within
    passed &&= inTime
    const last = samples[samples.length - 1]
    const everOpen = samples.some((s) => s.t >= phase.start && s.t <= phase.end && s.state !== 'closed')
    actual.push(
      !everOpen && closed
        ? 'closed (it had not opened)'
        : closed
          ? `closed at ${rel(closed.t, phase.end)} after the end`
          : `still ${last.state} at the end of the run`,
    )
  }
  return verdict(a.kind, `breaker of ${a.provider} ${parts.join(', ')}`, actual.join('; '), passed)
}

/** The status a health poll gave for what the assertion looks at; 'no answer' when none came. */
export function healthValue(
  s: HealthSample,
  a: Pick<Assert<'health'>, 'provider' | 'check'> & { field?: string },
): string {
  if (s.http === 0 || !s.body || typeof s.body !== 'object')
    return s.http === 0 ? 'no answer' : `HTTP ${s.http}`
  const base =
    s.endpoint === '/health/providers'
      ? a.provider
        ? ['providers', a.provider]
        : []
      : a.provider
        ? ['checks', 'providers', 'providers', a.provider]
        : a.check
          ? ['checks', a.check]
          : []
  const path = [...base, ...(a.field ?? 'status').split('.')]
  let value: unknown = s.body
  for (const key of path)
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : 'missing'
}

export function health(a: Assert<'health'>, v: PhaseView, e: Evidence): Verdict {
  const subject = `${a.provider ? ` for ${a.provider}` : a.check ? ` (check ${a.check})` : ''}${a.field === 'status' ? '' : ` ${a.field}`}`
  const share = a.share < 1 ? ` in ${pct(a.share)} of polls` : ''
  const mention = a.mentions ? `, mentioning "${a.mentions}"` : ''
  const expected = `${a.endpoint}${subject} says ${a.status.join(' or ')}${mention}${share}${fromText(a.after)}`
  const polls = samplesIn(e.health, v.fromS, v.toS).filter((s) => s.endpoint === a.endpoint)
  if (polls.length === 0) return verdict(a.kind, expected, 'no poll in this window', false)
  const counts = new Map<string, number>()
  let agree = 0
  for (const s of polls) {
    const value = healthValue(s, a)
    const mentioned =
      !a.mentions ||
      JSON.stringify(s.body ?? '')
        .toLowerCase()
        .includes(a.mentions.toLowerCase())
    const label =
      a.mentions && a.status.includes(value) && !mentioned ? `${value} (no "${a.mentions}")` : value
    counts.set(label, (counts.get(label) ?? 0) + 1)
    if (a.status.includes(value) && mentioned) agree++
  }
  const seen = [...counts]
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')
  return verdict(
    a.kind,
    expected,
    `${agree} of ${polls.length} polls agree (${seen})`,
    agree / polls.length >= a.share,
  )
}

export function memory(a: Assert<'memory'>, v: PhaseView, e: Evidence): Verdict {
  const bounds = [
    a.max_rss_mb === undefined ? '' : `\u2264 ${a.max_rss_mb} MB`,
    a.max_growth_mb === undefined ? '' : `grows \u2264 ${a.max_growth_mb} MB in the phase`,
  ].filter(Boolean)
  const expected = `proxy RSS ${bounds.join(', ')}`
  const samples = samplesIn(e.proc, v.phase.start, v.phase.end)
  if (samples.length === 0)
    return verdict(a.kind, expected, 'not measured: no /proc sample in the phase', false)
  const max = Math.max(...samples.map((s) => s.rssMb))
  const growth = max - samples[0].rssMb
  const passed =
    (a.max_rss_mb === undefined || max <= a.max_rss_mb) &&
    (a.max_growth_mb === undefined || growth <= a.max_growth_mb)
  return verdict(
    a.kind,
    expected,
    `max ${round(max, 1)} MB, +${round(growth, 1)} MB from ${round(samples[0].rssMb, 1)} MB`,
    passed,
  )
}

/** A failure as the proxy should count it: answered 5xx or 429, or a stream that did not end well. */
export function clientSawFailure(r: RequestRecord): boolean {
  if (r.status === 0) return false
  if (r.status >= 500 || r.status === 429) return true
  return r.status >= 200 && r.status < 300 && !r.ok
}

/**
 * The proxy's own failure counter (/metrics requests.failures) over the phase against what the clients
 * saw. Samples come once a second, so requests within 1.5 s of the window's edges may fall on either
 * side: the proxy's count must lie between the clients' count without them and with them, give or
 * take the tolerance, a share of those failures in whole failures. Not a share of the
 * requests: that let a counter blind to failures pass whenever they were rarer than the tolerance
 * (2 failures in 200 requests passed a proxy that counted none).
 */
export function metricsTruth(a: Assert<'metrics_truth'>, v: PhaseView, e: Evidence): Verdict {
  const expected = `/metrics counts the failures the clients saw (\u00b1 ${pct(a.tolerance)} of them)${fromText(a.after)}`
  const withCounters = e.metrics.filter((s) => s.counters)
  const first = withCounters.findLast((s) => s.t <= v.fromS) ?? withCounters.find((s) => s.t >= v.fromS)
  const last = withCounters.find((s) => s.t >= v.toS) ?? withCounters.at(-1)
  if (!first || !last || last.t <= first.t)
    return verdict(a.kind, expected, 'not measured: too few /metrics samples', false)
  const proxyFailures = last.counters!.failures - first.counters!.failures
  const edge = 1.5
  const inner = requestsIn(e.records, first.t + edge, last.t - edge).filter(clientSawFailure).length
  const outer = requestsIn(e.records, first.t - edge, last.t + edge).filter(clientSawFailure).length
  const n = requestsIn(e.records, first.t, last.t).length
  const slack = (failures: number) => Math.floor(failures * a.tolerance + 1e-9)
  const passed = proxyFailures >= inner - slack(inner) && proxyFailures <= outer + slack(outer)
  const clients = inner === outer ? `${count(inner)}` : `${count(inner)}\u2013${count(outer)}`
  return verdict(
    a.kind,
    expected,
    `proxy counted ${count(proxyFailures)} failures, clients saw ${clients} (of ${count(n)} requests)`,
    passed,
  )
}

export function drain(a: Assert<'drain'>, v: PhaseView, e: Evidence): Verdict {
  const expected = `the SIGTERMed instance drains and exits ${a.exit_code} within ${sText(a.within)}`
  const record = e.drains.find((d) => d.phase === v.phase.name)
  if (!record) return verdict(a.kind, expected, 'no instance was sent SIGTERM in this phase', false)
  if (record.exitedAtS === null)
    return verdict(a.kind, expected, `${record.instance} had not exited at the end of the run`, false)
  const took = record.exitedAtS - record.sigtermAtS
  const how = record.signal ? `was killed (${record.signal})` : `exited ${record.code}`
  const passed = record.signal === null && record.code === a.exit_code && took <= a.within
  return verdict(a.kind, expected, `${record.instance} ${how} ${sText(took)} after SIGTERM`, passed)
}

export function workers(a: Assert<'workers'>, v: PhaseView, e: Evidence): Verdict {
  const expected = `${a.count} worker processes run again within ${sText(a.within)} of the kill`
  const kill = e.kills.find((k) => k.t >= v.phase.start && k.t < v.phase.end)
  if (!kill) return verdict(a.kind, expected, 'no worker was killed in this phase', false)
  const after = e.proc.filter((s) => s.t > kill.t)
  if (after.length === 0)
    return verdict(a.kind, expected, 'not measured: no /proc sample after the kill', false)
  const replaced = (s: (typeof after)[number]) =>
    s.workers.length >= a.count && !s.workers.some((pid) => kill.pids.includes(pid))
  const back = after.find(replaced)
  const passed = back !== undefined && back.t - kill.t <= a.within
  const actual = back
    ? `${back.workers.length} workers, none of the killed, ${sText(back.t - kill.t)} after the kill`
    : `${after.at(-1)!.workers.length} workers at the end of the run`
  return verdict(a.kind, expected, actual, passed)
}
