// Assertions on what the clients saw: success rate, latency, Retry-After, hung requests, streams that
// end without a word, malformed chunks, shed requests. Each returns a verdict with the bound it held
// the phase to and what was measured; no evidence at all is a failure, never a pass.
import {
  count,
  type Evidence,
  fewestForPercentile,
  fewestToShow,
  fromText,
  isShed,
  latencyOf,
  msText,
  type PhaseView,
  pct,
  percentile,
  requestsIn,
  round,
  sText,
  topKinds,
  type Verdict,
  verdict,
} from './evidence.ts'
import type { RequestRecord } from './request.ts'
import type { Assert } from './schema.ts'

export function successRate(a: Assert<'success_rate'>, v: PhaseView, e: Evidence): Verdict {
  const only = a.scenarios ? ` of ${a.scenarios.join(', ')}` : ''
  const retry = a.retryable ? `, a fast ${a.retryable.join(' or ')} refusal left to the client's retry` : ''
  const expected = `success rate${only} \u2265 ${pct(a.min)}${retry}${fromText(a.after)}`
  const all = requestsIn(e.records, v.fromS, v.toS).filter(
    (r) => !a.scenarios || a.scenarios.includes(r.scenario),
  )
  const refused = (r: RequestRecord) =>
    a.retryable !== undefined && r.code !== null && a.retryable.includes(r.code) && latencyOf(r) <= 1000
  const rs = all.filter((r) => !refused(r))
  if (rs.length === 0) return verdict(a.kind, expected, 'no request started in this window', false)
  const ok = rs.filter((r) => r.ok).length
  const failures = rs.length - ok
  const retried = all.length - rs.length
  const actual = `${pct(ok / rs.length)} (${count(ok)} of ${count(rs.length)})${retried ? `, ${count(retried)} refused for retry` : ''}${failures ? `; ${topKinds(rs)}` : ''}`
  const fewest = fewestToShow(a.min)
  if (failures === 0 && rs.length < fewest)
    return verdict(
      a.kind,
      expected,
      `${actual}, too few to show it: one failure would be ${pct((rs.length - 1) / rs.length)}; ${count(fewest)} or more can`,
      false,
    )
  return verdict(a.kind, expected, actual, ok / rs.length >= a.min)
}

export function latency(a: Assert<'latency'>, v: PhaseView, e: Evidence): Verdict {
  const select = (all: RequestRecord[]) => {
    const rs = a.scenarios ? all.filter((r) => a.scenarios!.includes(r.scenario)) : all
    if (a.of === 'success') return rs.filter((r) => r.ok)
    return a.of === 'admitted' ? rs.filter((r) => !isShed(r) && r.kind !== 'dropped') : rs
  }
  const kinds = a.scenarios ? ` (${a.scenarios.join(', ')})` : ''
  const what = `${a.of === 'success' ? 'successful' : a.of === 'admitted' ? 'admitted' : 'all'} requests${kinds}`
  const p = `p${round(a.percentile, 1)}`
  const fewest = fewestForPercentile(a.percentile)
  let bound = a.max_ms ?? 0
  let boundText = `${msText(bound)}`
  if (a.relative_to !== undefined) {
    const ref = e.scenario.phases.find((ph) => ph.name === a.relative_to)!
    const refValues = select(requestsIn(e.records, ref.start, ref.end)).map(latencyOf)
    const refValue = percentile(refValues, a.percentile)
    if (refValue === null || refValues.length < fewest)
      return verdict(
        a.kind,
        `${p} of ${what} \u2264 ${a.factor} \u00d7 ${p} of ${a.relative_to}`,
        refValue === null
          ? `${a.relative_to} has no such request to compare with`
          : `${a.relative_to} has ${count(refValues.length)} such requests, too few for a ${p} to compare with (${count(fewest)} or more)`,
        false,
      )
    bound = refValue * a.factor
    boundText = `${a.factor} \u00d7 ${p} of ${a.relative_to} (${msText(bound)})`
  }
  const expected = `${p} latency of ${what} \u2264 ${boundText}${fromText(a.after)}`
  const values = select(requestsIn(e.records, v.fromS, v.toS)).map(latencyOf)
  const value = percentile(values, a.percentile)
  if (value === null) return verdict(a.kind, expected, `none of the ${what} in this window`, false)
  const actual = `${p} ${msText(value)} (n = ${count(values.length)})`
  if (values.length < fewest)
    return verdict(
      a.kind,
      expected,
      `${actual}: too few for a ${p}, which is then the largest of them (${count(fewest)} or more)`,
      false,
    )
  return verdict(a.kind, expected, actual, value <= bound)
}

export function retryAfter(a: Assert<'retry_after'>, v: PhaseView, e: Evidence): Verdict {
  const statuses = a.status.join('/')
  const range = a.max_s === undefined ? `\u2265 ${a.min_s} s` : `${a.min_s}\u2013${a.max_s} s`
  const fast = a.within_ms === undefined ? '' : `, answered within ${msText(a.within_ms)}`
  const expected = `every ${statuses} answer carries Retry-After ${range}${fast}${fromText(a.after)}`
  const rs = requestsIn(e.records, v.fromS, v.toS).filter((r) => a.status.includes(r.status))
  if (rs.length < a.min_count)
    return verdict(
      a.kind,
      expected,
      `${count(rs.length)} answers ${statuses} (at least ${a.min_count} expected)`,
      false,
    )
  const missing = rs.filter((r) => r.retryAfterS === null).length
  const outside = rs.filter(
    (r) =>
      r.retryAfterS !== null &&
      (r.retryAfterS < a.min_s || (a.max_s !== undefined && r.retryAfterS > a.max_s)),
  ).length
  const slow = a.within_ms === undefined ? 0 : rs.filter((r) => latencyOf(r) > a.within_ms!).length
  const values = rs.flatMap((r) => (r.retryAfterS === null ? [] : [r.retryAfterS]))
  const problems = [
    missing ? `${count(missing)} without Retry-After` : '',
    outside ? `${count(outside)} outside ${range}` : '',
    slow ? `${count(slow)} slower than ${msText(a.within_ms!)}` : '',
  ].filter(Boolean)
  const seen = values.length
    ? `Retry-After ${Math.min(...values)}\u2013${Math.max(...values)} s`
    : 'no Retry-After'
  const p99 = percentile(rs.map(latencyOf), 99)
  const actual = `${count(rs.length)} answers ${statuses}, ${seen}, p99 ${msText(p99 ?? 0)}${problems.length ? `; ${problems.join(', ')}` : ''}`
  return verdict(a.kind, expected, actual, problems.length === 0)
}

export function noHang(a: Assert<'no_hang'>, v: PhaseView, e: Evidence): Verdict {
  const limitS = a.max_s ?? e.scenario.load.timeout
  const expected = `no request hung: every one ended within ${sText(limitS)}${fromText(a.after)}`
  const rs = requestsIn(e.records, v.fromS, v.toS)
  if (rs.length === 0) return verdict(a.kind, expected, 'no request started in this window', false)
  const hung = rs.filter(
    (r) => r.kind === 'timeout' || r.kind === 'interrupted' || latencyOf(r) > limitS * 1000,
  )
  const longest = Math.max(...rs.map(latencyOf))
  const actual = hung.length
    ? `${count(hung.length)} of ${count(rs.length)} hung past ${sText(limitS)} (longest ${msText(longest)})`
    : `longest ${msText(longest)} of ${count(rs.length)}`
  return verdict(a.kind, expected, actual, hung.length === 0)
}

/** Streams that got a 200: did each end with `[DONE]` or an error event? */
export function streamsComplete(a: Assert<'streams_complete'>, v: PhaseView, e: Evidence): Verdict {
  const expected = `every stream ends with [DONE] or an error event${fromText(a.after)}`
  const streams = requestsIn(e.records, v.fromS, v.toS).filter((r) => r.stream && r.status === 200)
  if (streams.length === 0) return verdict(a.kind, expected, 'no stream was answered in this window', false)
  const silent = streams.filter((r) => r.silentCut).length
  const errors = streams.filter((r) => r.kind === 'stream_error').length
  const actual = `${count(streams.length)} streams: ${count(streams.length - silent - errors)} [DONE], ${count(errors)} error event, ${count(silent)} cut silently`
  return verdict(a.kind, expected, actual, silent === 0)
}

export function noMalformed(a: Assert<'no_malformed'>, v: PhaseView, e: Evidence): Verdict {
  const expected = `no malformed chunk or unreadable answer reaches a client${fromText(a.after)}`
  const answered = requestsIn(e.records, v.fromS, v.toS).filter((r) => r.status >= 200 && r.status < 300)
  if (answered.length === 0) return verdict(a.kind, expected, 'no request was answered in this window', false)
  const bad = answered.filter((r) => r.malformed || r.kind === 'unreadable_body')
  const done = bad.filter((r) => r.stream && r.malformed && r.kind === 'malformed_chunk').length
  const actual = bad.length
    ? `${count(bad.length)} of ${count(answered.length)} answers carried one${done ? ` (${count(done)} streams still ended with [DONE])` : ''}`
    : `none in ${count(answered.length)} answers`
  return verdict(a.kind, expected, actual, bad.length === 0)
}

export function shed(a: Assert<'shed'>, v: PhaseView, e: Evidence): Verdict {
  const p = `p${round(a.percentile, 1)}`
  const expected = `requests are shed (503 ${a.code}), ${p} answered within ${msText(a.max_ms)}${fromText(a.after)}`
  const rs = requestsIn(e.records, v.fromS, v.toS)
  const shedded = rs.filter((r) => isShed(r, a.code))
  if (shedded.length === 0) {
    const slow = percentile(rs.map(latencyOf), a.percentile)
    return verdict(
      a.kind,
      expected,
      `nothing shed in ${count(rs.length)} requests (${p} of all ${msText(slow ?? 0)}; ${topKinds(rs) || 'no error'})`,
      false,
    )
  }
  const value = percentile(shedded.map(latencyOf), a.percentile)!
  return verdict(
    a.kind,
    expected,
    `${count(shedded.length)} of ${count(rs.length)} shed, ${p} ${msText(value)}`,
    value <= a.max_ms,
  )
}
