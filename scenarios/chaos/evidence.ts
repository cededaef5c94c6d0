// What the assertions judge: every request the clients sent, what the proxy, the mocks and the kernel
// said during the run, and what the fault driver did; plus the small helpers the judges share.
import type { DrainRecord, KillRecord, RunEvent } from './faults.ts'
import type { Observations } from './observe.ts'
import type { RequestRecord } from './request.ts'
import type { ChaosScenario } from './scenario.ts'
import type { ChaosPhase } from './schema.ts'

export type Evidence = Observations & {
  readonly scenario: ChaosScenario
  /** Sorted by chargeMs (chargeRequests). */
  readonly records: readonly ChargedRecord[]
  readonly drains: readonly DrainRecord[]
  readonly kills: readonly KillRecord[]
  readonly events: readonly RunEvent[]
}

export type Verdict = {
  readonly kind: string
  /** What must hold, in words with its bound. */
  readonly expected: string
  /** What was measured. */
  readonly actual: string
  readonly passed: boolean
}

export function verdict(kind: string, expected: string, actual: string, passed: boolean): Verdict {
  return { kind, expected, actual, passed }
}

/** A phase as the judges see it: its bounds in seconds and the requests started in it. */
export type PhaseView = {
  readonly phase: ChaosPhase
  readonly fromS: number
  readonly toS: number
}

export function view(phase: ChaosPhase, afterS = 0): PhaseView {
  return { phase, fromS: phase.start + afterS, toS: phase.end }
}

/** A request with the time at which it counts (see chargeRequests). */
export type ChargedRecord = RequestRecord & { readonly chargeMs: number }

/**
 * When each request counts: at its intended start, except a failure that ended in a later phase when
 * it started in a quiet one (no fault, the usual rate): that failure was caused by what came after,
 * so it counts when it ended (a stream in flight when a partition began belongs to the partition,
 * not to the quiet phase before it). A request the client gave up on (timeout) or never sent
 * (dropped) counts at its start: that is where it began to wait. Sorted by that time.
 */
export function chargeRequests(records: readonly RequestRecord[], scenario: ChaosScenario): ChargedRecord[] {
  const phaseAt = (ms: number) => scenario.phases.findIndex((p) => ms < p.end * 1000)
  const quiet = scenario.phases.map((p) => p.faults.length === 0 && p.rate === undefined)
  return records
    .map((r) => {
      const waited = r.ok || r.kind === 'timeout' || r.kind === 'dropped' || r.kind === 'interrupted'
      const started = phaseAt(r.startMs)
      const later = !waited && started >= 0 && quiet[started] && phaseAt(r.endMs) !== started
      return { ...r, chargeMs: later ? r.endMs : r.startMs }
    })
    .sort((a, b) => a.chargeMs - b.chargeMs)
}

/** Requests that count in [fromS, toS) (records sorted by chargeMs). */
export function requestsIn(records: readonly ChargedRecord[], fromS: number, toS: number): ChargedRecord[] {
  const from = fromS * 1000
  const to = toS * 1000
  let lo = 0
  let hi = records.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (records[mid].chargeMs < from) lo = mid + 1
    else hi = mid
  }
  const out: ChargedRecord[] = []
  for (let i = lo; i < records.length && records[i].chargeMs < to; i++) out.push(records[i])
  return out
}

export function samplesIn<T extends { t: number }>(samples: readonly T[], fromS: number, toS: number): T[] {
  return samples.filter((s) => s.t >= fromS && s.t < toS)
}

export const latencyOf = (r: RequestRecord) => r.endMs - r.startMs

/** Nearest-rank percentile; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]
}

/**
 * The fewest requests on which a success rate of at least `min` survives one failure. A window with
 * fewer can pass only with no failure at all, so a clean one shows less than it asserts (the load
 * tiers' rule for an error rate, reports/src/baseline.ts tooFewForErrorRate). A `min` of 1 asserts
 * that nothing fails, which any request can show.
 */
export function fewestToShow(min: number): number {
  if (min >= 1) return 1
  let n = Math.max(1, Math.ceil(1 / (1 - min) - 1e-6))
  while ((n - 1) / n < min) n++
  return n
}

/**
 * The fewest values of which a percentile is more than their largest: a p99 of fewer than 100 is the
 * maximum of a small sample, which usually lies below the true p99 (40 requests miss the slowest
 * 1 % two times in three), so a short window would flatter the tail it is meant to bound.
 */
export function fewestForPercentile(p: number): number {
  return p >= 100 ? 1 : Math.ceil(100 / (100 - p) - 1e-9)
}

/** Shed by the proxy's admission control: 503 with the given code. */
export function isShed(r: RequestRecord, code = 'overloaded'): boolean {
  return r.status === 503 && r.code === code
}

/** The most frequent error kinds, e.g. "http_503 ×12, timeout ×2". */
export function topKinds(records: readonly RequestRecord[], limit = 3): string {
  const counts = new Map<string, number>()
  for (const r of records) if (!r.ok) counts.set(r.kind ?? 'error', (counts.get(r.kind ?? 'error') ?? 0) + 1)
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit)
    .map(([kind, n]) => `${kind} \u00d7${n}`)
    .join(', ')
}

export const pct = (fraction: number) => `${(Math.round(fraction * 10_000) / 100).toString()} %`
export const msText = (ms: number) =>
  ms >= 10_000 ? `${round(ms / 1000, 1)} s` : `${round(ms, ms < 10 ? 2 : 0)} ms`
export const sText = (s: number) => `${round(s, 1)} s`
export const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits
export const count = (n: number) => n.toLocaleString('en-US')

/** " from +5 s" when an assertion skips the phase's first seconds. */
export function fromText(afterS: number): string {
  return afterS > 0 ? ` from +${round(afterS, 1)} s` : ''
}
