import { describe, expect, it } from 'vitest'
import { parseSummary } from '../../reports/src/summary.ts'
import type { EngineResult } from '../engines/plan.ts'
import { Recorder } from '../engines/recorder.ts'
import { exponential, seededRandom } from '../random.ts'
import {
  capacityVerdict,
  type GeneratorCapacity,
  mixCeiling,
  streamedShare,
} from '../run/generator-capacity.ts'
import { parseMetrics } from '../run/proxy-metrics.ts'
import { EXIT, exitCodeOf } from '../run/runner.ts'
import {
  buildSummary,
  longestStallMs,
  STALL_FALSE_ALARMS,
  type SummaryInput,
  stallThresholdMs,
} from '../run/summary-build.ts'
import { getTier, loadTiers } from '../tiers.ts'

const light = getTier(loadTiers(), 'light')

function result(overrides: Partial<EngineResult> = {}): EngineResult {
  return {
    engine: 'native',
    engineVersion: 'native (undici 8)',
    loadModel: 'open',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:05:00.000Z',
    durationS: 300,
    requests: 1500,
    errors: 3,
    latency_ms: { min: 1, mean: 5, p50: 4, p90: 8, p95: 10, p99: 20, max: 50 },
    latencyAtTargetMs: 10,
    scenarios: [
      {
        name: 'chat',
        requests: 1500,
        errors: 3,
        latency_ms: { min: 1, mean: 5, p50: 4, p90: 8, p95: 10, p99: 20, max: 50 },
      },
    ],
    ticks: [],
    histogram: [{ le_ms: 10, count: 1497 }],
    errorsByKind: { http_502: 3 },
    droppedIterations: 0,
    sendLagMs: { p50: 0.1, p99: 2, max: 5 },
    steadyRps: 5,
    intendedRps: 5,
    cpu: { mean: 2, max: 8 },
    samples: [],
    notes: [],
    ...overrides,
  }
}

function input(overrides: Partial<SummaryInput> = {}): SummaryInput {
  return {
    runId: 'r1',
    tier: light,
    durationScale: 1,
    engine: 'native',
    loadModel: 'open',
    seed: 42,
    targetUrl: 'http://127.0.0.1:9999',
    mockProfile: 'baseline',
    command: 'npm run load:light',
    startedAt: new Date('2026-01-01T00:00:00Z'),
    endedAt: new Date('2026-01-01T00:05:01Z'),
    environment: {
      node_version: 'v24',
      os: 'Linux',
      cpu_model: 'cpu',
      cpu_count: 2,
      total_memory_mb: 1000,
      git_commit: null,
    },
    sharedHost: true,
    result: result(),
    mix: light.scenarios,
    skipped: new Map(),
    broken: null,
    capacity: null,
    ...overrides,
  }
}

const capacity: GeneratorCapacity = {
  measured_at: '2026-01-01T00:00:00.000Z',
  cpu_model: 'cpu',
  cpu_count: 2,
  node_version: 'v24',
  pinned: true,
  scenario: 'chat',
  duration_s: 10,
  engines: {
    native: {
      engine: 'native',
      target: 'plain',
      connections: 32,
      rps: 1000,
      cpu_percent: 100,
      rps_per_core: 1000,
      p50_ms: 1,
      errors: 0,
    },
    autocannon: {
      engine: 'autocannon',
      target: 'plain',
      connections: 32,
      rps: 2000,
      cpu_percent: 100,
      rps_per_core: 2000,
      p50_ms: 1,
      errors: 0,
    },
  },
  runs: [],
}

/**
 * An open-model run through the recorder, as the native engine records it: an arrival every 1000 / rps
 * ms until `durationS`, each answered after `latencyMs(arrival)` ms or, when that is null, never: the
 * drain cuts it `drainS` after the last arrival (`interrupted`). In flight is read at each second's end.
 */
function simulateOpenRun(o: {
  rps: number
  durationS: number
  drainS: number
  latencyMs: (arrivalMs: number) => number | null
}): EngineResult {
  const endMs = o.durationS * 1000
  const cutMs = endMs + o.drainS * 1000
  const requests: { startMs: number; endMs: number; ok: boolean }[] = []
  for (let i = 0; (i * 1000) / o.rps < endMs; i++) {
    const startMs = Math.round((i * 1000) / o.rps)
    const latency = o.latencyMs(startMs)
    requests.push(
      latency === null || startMs + latency > cutMs
        ? { startMs, endMs: cutMs, ok: false }
        : { startMs, endMs: startMs + latency, ok: true },
    )
  }
  requests.sort((a, b) => a.endMs - b.endMs)
  let nowMs = 0
  const recorder = new Recorder({
    bucketS: 1,
    samplesPerBucket: 500,
    random: seededRandom(1),
    scenarios: ['chat'],
    steadyWindowMs: { from: 0, to: endMs },
    gauges: () => ({
      activeUsers: requests.filter((r) => r.startMs <= nowMs && r.endMs > nowMs).length,
      cpuPercent: 1,
    }),
  })
  for (const r of requests) {
    for (; nowMs + 1000 <= r.endMs; ) {
      nowMs += 1000
      recorder.advance(nowMs)
    }
    recorder.record({
      scenario: 'chat',
      ok: r.ok,
      kind: r.ok ? null : 'interrupted',
      latencyMs: r.endMs - r.startMs,
      endMs: r.endMs,
      stream: null,
      proxyMs: Number.NaN,
    })
  }
  nowMs = cutMs
  recorder.finish(cutMs)
  return result({
    ...recorder.summary(o.durationS),
    droppedIterations: 0,
    intendedRps: o.rps,
    durationS: cutMs / 1000,
  })
}

/** A heavy-like tier (errors below 5 %, p95 below 500 ms) without a ramp-up, and the run's facts. */
function endOfRunInput(
  o: { rps: number; durationS: number; drainS: number },
  run: EngineResult,
): SummaryInput {
  const heavy = getTier(loadTiers(), 'heavy')
  const tier = { ...heavy, durationS: o.durationS, rampUpS: 0, expectedRps: o.rps, drainS: o.drainS }
  return input({ tier, mix: tier.scenarios, result: run })
}

describe('buildSummary', () => {
  it('judges the seed baselines of the tier and passes a healthy run', () => {
    const summary = parseSummary(buildSummary(input()))
    expect(summary.status).toBe('passed')
    expect(summary.baselines.map((b) => [b.metric, b.threshold, b.actual, b.passed])).toEqual([
      ['latency_p95_ms', 200, 10, true],
      ['error_rate', 0.01, 0.002, true],
      ['rps_after_ramp_up', 4.5, 5, true],
      ['longest_stall_ms', 3000, 0, true],
    ])
  })

  it('fails a run that stalled after the ramp-up, however good its p95, errors and average rate', () => {
    // light: ramp-up 30 s, arrivals until 300 s, 5 req/s. Ten seconds in which nothing finished while
    // requests waited, then the backlog answered at once: 50 late requests of 1,425 (3.5 %) stay under
    // the p95, fail none and leave the average rate as it was.
    const second = (t: number, requests: number, active: number) => ({
      t,
      requests,
      rps: requests,
      error_rate: 0,
      p50_ms: 10,
      p95_ms: 12,
      p99_ms: 15,
      active_users: active,
      errors: 0,
      cpu_percent: 5,
      dropped: 0,
    })
    const ticks = Array.from({ length: 305 }, (_, i) => {
      const t = i + 1
      if (t > 100 && t <= 110) return second(t, 0, 5 * (t - 100))
      return second(t, t === 111 ? 55 : t > 300 ? 0 : 5, t > 300 ? 0 : 1)
    })
    const stalled = parseSummary(buildSummary(input({ result: result({ ticks }) })))
    expect(stalled.status).toBe('failed')
    expect(stalled.status_reason).toBe('longest_stall_ms 10000 vs < 3000')
    expect(stalled.baselines[3]).toMatchObject({
      name: 'no stall of 3 s or more after ramp-up (2 s is chance here)',
      passed: false,
    })
    // One empty second is not judged a stall (it may be a shorter one across a second's edge), two are.
    const brief = ticks.map((p) => (p.t > 100 && p.t <= 110 ? second(p.t, 5, 1) : p))
    brief[150] = second(151, 0, 3)
    expect(longestStallMs(brief, 30, 300)).toBe(1000)
    brief[151] = second(152, 0, 6)
    expect(longestStallMs(brief, 30, 300)).toBe(2000)
    // Nothing in flight is no stall (a quiet second of a closed loop between think times); nor are
    // dropped arrivals finishes; nor is the ramp-up judged, nor the drain while the requests in flight
    // may still be answers on their way (here the longest answer took 5 s).
    expect(longestStallMs([second(50, 0, 0), second(51, 0, 0)], 30, 300)).toBe(0)
    const dropping = [
      { ...second(50, 4, 9), dropped: 4 },
      { ...second(51, 3, 9), dropped: 3 },
    ]
    expect(longestStallMs(dropping, 30, 300)).toBe(2000)
    expect(
      longestStallMs([second(5, 0, 1), second(6, 0, 1), second(303, 0, 2), second(304, 0, 1)], 30, 300, 5),
    ).toBe(0)
    // Past the longest answer, every request still in flight waited longer than anything answered.
    expect(longestStallMs([second(303, 0, 2), second(304, 0, 1)], 30, 300, 2.5)).toBe(2000)
  })

  it("judges a stall only as long as chance cannot explain at the tier's rate", () => {
    // Healthy runs whose answers finish at random (a Poisson process) at the tier's rate: the
    // threshold fails at most about one in a thousand of them, where two seconds failed 1 % of light's
    // runs and nearly every run at 2 req/s.
    const random = seededRandom(7)
    const healthy = (rps: number, seconds: number) => {
      const finished = new Array<number>(seconds).fill(0)
      for (let t = exponential(random) / rps; t < seconds; t += exponential(random) / rps)
        finished[Math.floor(t)]++
      return finished.map((requests, i) => ({ t: i + 1, requests, dropped: 0, active_users: 1 }))
    }
    const falseAlarms = (rps: number, seconds: number, runs: number, thresholdMs: number) => {
      let failed = 0
      for (let i = 0; i < runs; i++)
        if (longestStallMs(healthy(rps, seconds), 0, seconds) >= thresholdMs) failed++
      return failed / runs
    }
    expect(falseAlarms(2, 270, 300, 2000)).toBeGreaterThan(0.9) // the fixed two seconds
    for (const rps of [2, 5])
      expect(falseAlarms(rps, 270, 2000, stallThresholdMs(rps, 270))).toBeLessThan(3 * STALL_FALSE_ALARMS)
    expect([1, 2, 5, 8, 20, 200].map((rps) => stallThresholdMs(rps, 270))).toEqual([
      13000, 7000, 3000, 2000, 2000, 2000,
    ])
    // At light's rate a real stall of three seconds still fails.
    const stalled = healthy(5, 270).map((tick) =>
      tick.t > 100 && tick.t <= 103 ? { ...tick, requests: 0 } : tick,
    )
    expect(longestStallMs(stalled, 0, 270)).toBeGreaterThanOrEqual(stallThresholdMs(5, 270))
    // A rate at which no silence the run can hold is beyond chance: the pass would mean nothing.
    const slow = { ...light, expectedRps: 0.05, durationS: 60, rampUpS: 0 }
    const summary = parseSummary(
      buildSummary(
        input({
          tier: slow,
          result: result({ requests: 3, errors: 0, errorsByKind: {}, histogram: [{ le_ms: 10, count: 3 }] }),
        }),
      ),
    )
    expect(summary.status).toBe('inconclusive')
  })

  it('fails a target that stops answering near the end, whose unanswered requests the drain cuts', () => {
    // From `hangAtS` on the target answers nothing, ever. Its last requests wait through the drain
    // and are cut as `interrupted`: 3 % of the run at 100 req/s with a 3 s drain, and at heavy's rate
    // and drain a target dead for the last 12 s of 300 (0.7 %), under every other baseline.
    for (const { rps, durationS, hangAtS, drainS } of [
      { rps: 100, durationS: 30, hangAtS: 29.1, drainS: 3 },
      { rps: 80, durationS: 300, hangAtS: 298, drainS: 10 },
    ]) {
      const run = simulateOpenRun({
        rps,
        durationS,
        drainS,
        latencyMs: (at) => (at >= hangAtS * 1000 ? null : 5),
      })
      const summary = parseSummary(buildSummary(endOfRunInput({ rps, durationS, drainS }, run)))
      expect(summary.errors_by_kind.interrupted).toBeGreaterThan(0)
      expect(summary.baselines.map((b) => [b.metric, b.passed])).toEqual([
        ['latency_p95_ms', true],
        ['error_rate', true],
        ['rps_after_ramp_up', true],
        ['longest_stall_ms', false],
      ])
      expect(summary.status).toBe('failed')
    }
  })

  it('passes a healthy run whose last long streams finish one by one during the drain', () => {
    // Answers in 5 ms, but five 10 s streams sent in the last second: for nine seconds of the drain
    // nothing finishes while they are in flight, as it should.
    const streamsAt = new Set([29_000, 29_200, 29_400, 29_600, 29_800])
    const run = simulateOpenRun({
      rps: 100,
      durationS: 30,
      drainS: 10,
      latencyMs: (at) => (streamsAt.has(at) ? 10_000 : 5),
    })
    expect(
      run.ticks.filter((t) => t.t > 31 && t.requests === 0 && t.active_users > 0).length,
    ).toBeGreaterThanOrEqual(8)
    const summary = parseSummary(buildSummary(endOfRunInput({ rps: 100, durationS: 30, drainS: 10 }, run)))
    expect(summary.errors_by_kind).toEqual({})
    expect(summary.baselines.find((b) => b.metric === 'longest_stall_ms')).toMatchObject({
      actual: 0,
      passed: true,
    })
    expect(summary.status).toBe('passed')
  })

  it('fails on a baseline and says which, in one line', () => {
    const summary = parseSummary(
      buildSummary(input({ result: result({ latencyAtTargetMs: 250, steadyRps: 3 }) })),
    )
    expect(summary.status).toBe('failed')
    expect(summary.status_reason).toBe('latency_p95_ms 250 vs < 200; rps_after_ramp_up 3 vs >= 4.5')
  })

  it('does not pass a clean run too short to show its error rate below the threshold', () => {
    // light: errors below 1 %. 60 requests without an error fit a 1.5 % error rate as well as none.
    const few = (requests: number, errors = 0) =>
      parseSummary(
        buildSummary(
          input({
            result: result({
              requests,
              errors,
              errorsByKind: errors > 0 ? { http_502: errors } : {},
              histogram: [{ le_ms: 10, count: requests - errors }],
              scenarios: [{ ...result().scenarios[0], requests, errors }],
            }),
          }),
        ),
      )
    const short = few(60)
    expect(short.status).toBe('inconclusive')
    expect(short.status_reason).toBe(
      'inconclusive: 60 requests are too few to show an error rate below 1 % (one error would be 1.67 %); a run of 101 requests or more can (a longer --duration-scale)',
    )
    expect(short.baselines.every((b) => b.passed)).toBe(true)
    // At exactly 100 requests one error is 1 %, not below it: still too few; at 101 it can pass.
    expect(few(100).status).toBe('inconclusive')
    expect(few(101).status).toBe('passed')
    // A short run that made an error is judged by the baseline, never in its favour.
    expect(few(60, 1).status).toBe('failed')
    // The schema holds producers to it: inconclusive needs a reason it can check.
    expect(() => parseSummary({ ...few(1500), status: 'inconclusive' })).toThrow(/nor the run too short/)
  })

  it('holds a tier that allows no error to "no error": a clean run passes it, one error fails it', () => {
    const strict = { ...light, errorRateMax: 0 }
    const clean = parseSummary(
      buildSummary(input({ tier: strict, result: result({ errors: 0, errorsByKind: {} }) })),
    )
    expect(clean.baselines[1]).toMatchObject({ name: 'no error', actual: 0, passed: true })
    expect(clean.status).toBe('passed')
    const one = parseSummary(
      buildSummary(input({ tier: strict, result: result({ errors: 1, errorsByKind: { http_502: 1 } }) })),
    )
    expect(one.status).toBe('failed')
    expect(one.status_reason).toBe('error_rate 0.0007 vs <= 0')
  })

  it('writes a broken run without engine results, every baseline unmeasured', () => {
    const summary = parseSummary(buildSummary(input({ result: null, broken: 'proxy exited' })))
    expect(summary).toMatchObject({
      status: 'broken',
      status_reason: 'proxy exited',
      totals: { requests: 0 },
    })
    expect(summary.baselines.every((b) => b.actual === null && !b.passed)).toBe(true)
  })

  it('shows a skipped scenario with its reason and weight 0, never as passing', () => {
    const reason = 'POST /v1/context/condense answered 404'
    const summary = parseSummary(buildSummary(input({ skipped: new Map([['condense', reason]]) })))
    expect(summary.scenarios.find((s) => s.name === 'condense')).toEqual({
      name: 'condense',
      weight: 0,
      requests: 0,
      errors: 0,
      error_rate: 0,
      rps: 0,
      skipped: { reason },
    })
  })

  it('judges a run whose generator may have been the limit inconclusive, never passed nor failed', () => {
    const busyTicks = Array.from({ length: 60 }, (_, i) => ({
      t: i + 1,
      rps: 5,
      error_rate: 0,
      p50_ms: 2,
      p95_ms: 9,
      p99_ms: 12,
      active_users: 1,
      errors: 0,
      dropped: 0,
      cpu_percent: 88,
      loop_utilization: 0.97,
      loop_delay_p95_ms: 8,
    }))
    const healthy = parseSummary(buildSummary(input()))
    expect(healthy).toMatchObject({ status: 'passed', generator: { limited: false } })
    const busy = parseSummary(buildSummary(input({ result: result({ ticks: busyTicks }) })))
    expect(busy.status).toBe('inconclusive')
    expect(busy.status_reason).toMatch(
      /^inconclusive: the generator may have been the limit \(its CPU was 88 %/,
    )
    expect(busy.generator).toMatchObject({ limited: true, event_loop_utilization: 0.97 })
    expect(exitCodeOf(busy.status)).toBe(EXIT.inconclusive)
    expect(EXIT.inconclusive).toBe(3)
    // A baseline that failed too is not blamed on the target.
    const failing = parseSummary(
      buildSummary(input({ result: result({ ticks: busyTicks, latencyAtTargetMs: 250 }) })),
    )
    expect(failing.status).toBe('inconclusive')
    expect(failing.status_reason).toMatch(/not blamed on the target: latency_p95_ms 250 vs < 200/)
  })

  it('says how many arrivals were dropped, counted as failed with their wait in the latency', () => {
    const slowTarget = parseSummary(buildSummary(input({ result: result({ droppedIterations: 40 }) })))
    expect(slowTarget.generator?.limited).toBe(false)
    expect(slowTarget.totals.dropped_iterations).toBe(40)
    expect(slowTarget.environment.generator_notes).toContainEqual(
      expect.stringMatching(/^40 arrivals were dropped: .* count as failed requests \(dropped\)/),
    )
  })

  it('reports throughput after the ramp-up as the baseline judges it, beside the whole-run rate', () => {
    const summary = parseSummary(buildSummary(input({ result: result({ steadyRps: 4.6 }) })))
    expect(summary.totals.rps_after_ramp_up).toBe(4.6)
    expect(summary.totals.rps).toBe(5)
    expect(summary.baselines[2]).toMatchObject({ metric: 'rps_after_ramp_up', actual: 4.6, passed: true })
  })

  it('says in words what the mocks answered like, and where the time went', () => {
    const summary = parseSummary(
      buildSummary(
        input({
          mockLatency: { ttft_ms: 2, itl_ms: 0 },
          result: result({
            serverTiming: {
              requests: 1400,
              proxy_ms: { p50: 0.25, p90: 0.5, p95: 0.6, p99: 2, mean: 0.3 },
              upstream_ms: { p50: 2.4, p90: 3, p95: 3.5, p99: 5, mean: 2.6 },
            },
          }),
        }),
      ),
    )
    expect(summary.run.mock_latency).toEqual({ ttft_ms: 2, itl_ms: 0 })
    expect(summary.totals.server_timing?.proxy_ms.p50).toBe(0.25)
    const notes = summary.environment.generator_notes ?? []
    expect(notes[0]).toMatch(
      /^These numbers measure the proxy, not an LLM\. .* about 2 ms to the first token with no gap/,
    )
    expect(notes).toContainEqual(
      expect.stringMatching(/the proxy's own time p50 0\.25 ms.*upstream p50 2\.4 ms/),
    )
  })

  it('uses the measured generator ceiling: near it, the generator may be the limit', () => {
    const near = parseSummary(buildSummary(input({ capacity, result: result({ steadyRps: 900 }) })))
    expect(near.generator?.limited).toBe(true)
    expect(near.status).toBe('inconclusive')
    expect(capacityVerdict(capacity, 'autocannon', 100, 'other cpu')).toMatchObject({
      near: false,
      note: expect.stringMatching(/another machine \(cpu\)/),
    })
  })

  it('lowers the ceiling for a mix with streams, by what bench:generator measured for streams', () => {
    const withStreams: GeneratorCapacity = {
      ...capacity,
      streaming: {
        native: { ...capacity.engines.native, rps_per_core: 250, rps: 250 },
        autocannon: { ...capacity.engines.autocannon, rps_per_core: 500, rps: 500 },
      },
    }
    const mix = [
      { name: 'chat', weight: 1 },
      { name: 'chat-stream', weight: 1 },
    ] as const
    // Half plain at 1000/s, half streams at 250/s: 1 / (0.5 / 1000 + 0.5 / 250) = 400 req/s.
    expect(mixCeiling(withStreams, 'native', streamedShare(mix))).toBeCloseTo(400, 6)
    expect(capacityVerdict(withStreams, 'native', 350, 'cpu', mix)).toMatchObject({
      near: true,
      note: expect.stringMatching(/250 streams\/s alone, so ~400 req\/s for this mix \(50 % streamed\)/),
    })
    expect(capacityVerdict(capacity, 'native', 350, 'cpu', mix)?.note).toMatch(/streams were not measured/)
  })
})

describe('parseMetrics', () => {
  it('reads memory, cache hit rate and breaker states when present', () => {
    expect(
      parseMetrics(
        {
          memory: { rss_mb: 120.5, heap_used_mb: 40 },
          cache: { hit_rate: 0.42 },
          circuit_breakers: {
            a: { state: 'HALF_OPEN' },
            b: { state: 'closed' },
            c: 'half-open',
            d: { state: 'weird' },
          },
        },
        3,
      ),
    ).toEqual({
      t: 3,
      rss_mb: 120.5,
      heap_used_mb: 40,
      cache_hit_rate: 0.42,
      breakers: { a: 'half_open', b: 'closed', c: 'half_open' },
    })
  })

  it('leaves out what is missing or out of range', () => {
    expect(parseMetrics({ memory: { rss_mb: 'lots' }, cache: { hit_rate: 42 } }, 1)).toEqual({ t: 1 })
    expect(parseMetrics(null, 2)).toEqual({ t: 2 })
  })
})
