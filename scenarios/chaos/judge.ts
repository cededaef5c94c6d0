// Judges every phase: each assertion becomes a verdict (expected, actual, passed), and each phase gets
// the figures its row in the report shows. Pure: the same evidence gives the same verdicts.
import type { ChaosPhaseResult } from '../../reports/src/chaos-summary.ts'
import {
  type Evidence,
  isShed,
  latencyOf,
  type PhaseView,
  percentile,
  requestsIn,
  round,
  type Verdict,
  view,
} from './evidence.ts'
import { describeFault } from './faults.ts'
import * as proxy from './judge-proxy.ts'
import * as traffic from './judge-traffic.ts'
import type { AssertionKind, ChaosAssertion, ChaosPhase } from './schema.ts'

type Judge = (a: never, v: PhaseView, e: Evidence) => Verdict

const JUDGES: Record<AssertionKind, Judge> = {
  success_rate: traffic.successRate,
  latency: traffic.latency,
  retry_after: traffic.retryAfter,
  no_hang: traffic.noHang,
  streams_complete: traffic.streamsComplete,
  no_malformed: traffic.noMalformed,
  shed: traffic.shed,
  breaker: proxy.breaker,
  health: proxy.health,
  memory: proxy.memory,
  metrics_truth: proxy.metricsTruth,
  drain: proxy.drain,
  workers: proxy.workers,
}

export function judge(assertion: ChaosAssertion, phase: ChaosPhase, evidence: Evidence): Verdict {
  const afterS = 'after' in assertion ? assertion.after : 0
  return JUDGES[assertion.kind](assertion as never, view(phase, afterS), evidence)
}

export function judgePhases(evidence: Evidence): ChaosPhaseResult[] {
  const { scenario } = evidence
  return scenario.phases.map((phase) => {
    const rs = requestsIn(evidence.records, phase.start, phase.end)
    const ok = rs.filter((r) => r.ok)
    const latencies = ok.map(latencyOf)
    const at = (p: number) => round(percentile(latencies, p) ?? 0)
    const errors: Record<string, number> = {}
    for (const r of rs) if (!r.ok) errors[r.kind ?? 'error'] = (errors[r.kind ?? 'error'] ?? 0) + 1
    return {
      name: phase.name,
      ...(phase.description ? { description: phase.description } : {}),
      start_s: round(phase.start, 3),
      end_s: round(phase.end, 3),
      rate: phase.rate ?? scenario.load.rate,
      faults: [
        ...(phase.rate !== undefined && phase.rate !== scenario.load.rate
          ? [`load at ${phase.rate} req/s (the run's rate is ${scenario.load.rate} req/s)`]
          : []),
        ...phase.faults.map(describeFault),
      ],
      stats: {
        requests: rs.length,
        ok: ok.length,
        success_rate: rs.length ? round(ok.length / rs.length, 5) : null,
        latency_ms: latencies.length
          ? { p50: at(50), p95: at(95), p99: at(99), max: round(Math.max(...latencies)) }
          : null,
        shed: rs.filter((r) => isShed(r)).length,
        ...upstreamIn(evidence, phase),
        errors_by_kind: errors,
      },
      assertions: phase.assert.map((a) => judge(a, phase, evidence)),
    }
  })
}

/** The proxy's own count of its calls to providers over the phase (samples nearest its edges). */
function upstreamIn(
  e: Evidence,
  phase: ChaosPhase,
): { upstream_attempts: number | null; upstream_failed: number | null } {
  const samples = e.metrics.filter((s) => s.upstream)
  const first = samples.findLast((s) => s.t <= phase.start) ?? samples.find((s) => s.t >= phase.start)
  const last = samples.find((s) => s.t >= phase.end) ?? samples.at(-1)
  if (!first || !last || last.t <= first.t) return { upstream_attempts: null, upstream_failed: null }
  const d = (k: 'requests' | 'failures') => Math.max(0, last.upstream![k] - first.upstream![k])
  return { upstream_attempts: d('requests'), upstream_failed: d('failures') }
}
