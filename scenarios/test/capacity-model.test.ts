// Knee detection, the capacity model, the resource that binds and instance sizing, on synthetic
// sweeps of proxies whose limits are known in advance (capacity-synthetic.ts).
import { describe, expect, it } from 'vitest'
import type { Demands, Knee, StepPoint } from '../../reports/src/capacity-summary.ts'
import { measuredBinding } from '../capacity/binding.ts'
import { findKnee, growthLimit, judgeStep, refinementRate } from '../capacity/knee.ts'
import {
  bindingBound,
  boundsFor,
  erlangC,
  measureDemands,
  predictAt,
  predictKnee,
} from '../capacity/model.ts'
import { planSizing, poolFor, usersToRate } from '../capacity/sizing.ts'
import { runSweep, sweepRates } from '../capacity/sweep.ts'
import { checkTruth } from '../capacity/truth.ts'
import { ceilingOf, DEFAULT_PROXY, SLO, sweepOptions, syntheticStep } from './capacity-synthetic.ts'

const step = (over: Partial<StepPoint>): Parameters<typeof judgeStep>[0] => ({
  target_rps: 10,
  achieved_rps: 10,
  error_rate: 0,
  dropped: 0,
  latency_ms: { p50: 5000, p90: 8000, p95: 9000, p99: 9500, mean: 5200, max: 12000 },
  ttft_ms: { p50: 600, p90: 1200, p95: 1500, p99: 2100 },
  itl_ms: { p50: 14, p90: 20, p95: 22, p99: 30 },
  concurrency: { mean: 56, max: 64, growth: 2 },
  generator: { cpu_percent: 10, send_lag_p99_ms: 3, limited: false },
  succeeded: 250,
  started: 250,
  errors: 0,
  ...over,
})

describe('judging a step against the SLO', () => {
  it('holds when every figure is within the SLO and the in-flight count is steady', () => {
    expect(judgeStep(step({}), SLO)).toEqual({ verdict: 'pass', reasons: [] })
  })

  it('names each breach: TTFT, errors, a rate not kept up, a queue that grows', () => {
    const judged = judgeStep(
      step({
        ttft_ms: { p50: 900, p90: 2500, p95: 3100, p99: 4000 },
        error_rate: 0.02,
        achieved_rps: 8,
        concurrency: { mean: 200, max: 260, growth: 80 },
      }),
      SLO,
    )
    expect(judged.verdict).toBe('fail')
    expect(judged.reasons).toEqual([
      'TTFT p95 3100 ms > 2000 ms',
      'error rate 2 % > 1 %',
      'achieved 8 of 10 req/s',
      'in-flight grew by 80 over the window (queueing)',
    ])
    expect(growthLimit(200)).toBeCloseTo(50.3, 1)
  })

  it('is inconclusive when a clean step is too short to show the error rate, judged when it erred', () => {
    const short = judgeStep(step({ started: 60, succeeded: 60 }), SLO)
    expect(short).toEqual({
      verdict: 'inconclusive',
      reasons: [
        '60 requests are too few to show an error rate within 1 % (100 or more can: a longer window)',
      ],
    })
    expect(judgeStep(step({ started: 100, succeeded: 100 }), SLO).verdict).toBe('pass')
    const erred = judgeStep(step({ started: 60, succeeded: 59, errors: 1, error_rate: 1 / 60 }), SLO)
    expect(erred.verdict).toBe('fail')
    // An SLO of no error at all is shown by any step without one.
    expect(judgeStep(step({ started: 20, succeeded: 20 }), { ...SLO, error_rate_max: 0 }).verdict).toBe(
      'pass',
    )
    // A step failing on another figure fails, however short.
    const slow = step({ started: 60, ttft_ms: { p50: 900, p90: 2500, p95: 3100, p99: 4000 } })
    expect(judgeStep(slow, SLO).verdict).toBe('fail')
  })

  it('is inconclusive, never a pass or a failure, when the generator was the limit', () => {
    const judged = judgeStep(
      step({ generator: { cpu_percent: 99, send_lag_p99_ms: 300, limited: true } }),
      SLO,
    )
    expect(judged.verdict).toBe('inconclusive')
  })
})

describe('the knee', () => {
  const at = (target_rps: number | null, verdict: StepPoint['verdict']) => ({
    target_rps,
    verdict,
    achieved_rps: target_rps ?? 30,
  })

  it('is the highest rate that held below the first that broke, and bisection narrows it', () => {
    const knee = findKnee([
      at(null, 'fail'),
      at(5, 'pass'),
      at(15, 'pass'),
      at(25, 'pass'),
      at(35, 'fail'),
      at(45, 'fail'),
    ])
    expect(knee).toEqual({ rate: 25, achieved_rps: 25, first_fail_rate: 35, bracketed: true })
    expect(refinementRate(knee)).toBe(30)
    expect(refinementRate({ ...knee, rate: 34.5 })).toBeNull()
  })

  it('skips inconclusive steps and says when a higher rate held again', () => {
    const knee = findKnee([at(5, 'pass'), at(15, 'inconclusive'), at(25, 'fail'), at(30, 'pass')])
    expect(knee.rate).toBe(5)
    expect(knee.note).toContain('held again')
  })

  it('is unbracketed when every rate held, and null when none did', () => {
    expect(findKnee([at(5, 'pass'), at(10, 'pass')])).toMatchObject({ rate: 10, bracketed: false })
    expect(findKnee([at(5, 'fail')])).toMatchObject({ rate: null, first_fail_rate: 5 })
  })
})

describe('a synthetic sweep', () => {
  it('finds the knee just below the pool ceiling; connections bind, not CPU', async () => {
    const { sweep } = await runSweep(sweepOptions(DEFAULT_PROXY))
    const ceiling = ceilingOf(DEFAULT_PROXY) // 100 / (0.55 x 5.6) = 32.5 req/s
    expect(sweep.max_throughput_rps).toBeCloseTo(ceiling, 0)
    expect(sweep.points[0].phase).toBe('max')
    expect(sweep.knee.bracketed).toBe(true)
    expect(sweep.knee.rate!).toBeGreaterThan(0.9 * ceiling)
    expect(sweep.knee.rate!).toBeLessThan(ceiling)
    expect(sweep.binding.resource).toBe('connections')
    expect(sweep.binding.evidence).toContain('mock-openai')
    const bound = bindingBound(sweep.bounds)!
    expect(bound.resource).toBe('connections')
    expect(bound.rate!).toBeCloseTo(ceiling, 0)
    expect(sweep.bounds.find((b) => b.resource === 'cpu')!.rate).toBeCloseTo(80, 0)
    expect(sweep.usl!.r2).toBeGreaterThan(0.9)
  })

  it('finds CPU binding first when a request costs more CPU than its connection holds', async () => {
    const proxy = { ...DEFAULT_PROXY, cpuPerRps: 4 } // (100 - 20) / 4 = 20 req/s < 32.5 pool
    const { sweep } = await runSweep(sweepOptions(proxy))
    expect(sweep.binding.resource).toBe('cpu')
    expect(bindingBound(sweep.bounds)!.resource).toBe('cpu')
    expect(sweep.knee.rate!).toBeLessThan(20)
    expect(sweep.knee.rate!).toBeGreaterThan(17)
  })

  it('goes past the max step until a rate breaks when the max step under-measured', async () => {
    const real = syntheticStep(DEFAULT_PROXY)
    // A busy moment during the max step: it reads 60 % of what the proxy carries.
    const step: typeof real = async (spec, options) => {
      const result = await real(spec, options)
      if (spec.kind === 'rate') return result
      const window = {
        ...result.window,
        completed_in_window: Math.round(result.window.completed_in_window * 0.6),
      }
      return { ...result, window }
    }
    const { sweep } = await runSweep(sweepOptions(DEFAULT_PROXY, { step, refine: 0 }))
    expect(sweep.max_throughput_rps).toBeLessThan(0.65 * ceilingOf(DEFAULT_PROXY))
    expect(sweep.knee.bracketed).toBe(true)
    expect(sweep.knee.first_fail_rate!).toBeGreaterThan(ceilingOf(DEFAULT_PROXY))
  })

  it('predicts the knee and the latency from the lower rates alone, within 15 %', async () => {
    const { sweep, forecast } = await runSweep(sweepOptions(DEFAULT_PROXY))
    const truth = checkTruth(forecast!, sweep, 2)
    expect(truth.fit_max_rps).toBeLessThanOrEqual(0.6 * sweep.max_throughput_rps)
    expect(truth.fit_points).toBeGreaterThanOrEqual(3)
    expect(truth.held_out.every((h) => h.rate > truth.fit_max_rps)).toBe(true)
    expect(truth.predicted_binding).toBe('connections')
    expect(Math.abs(truth.knee_error!)).toBeLessThan(0.15)
    expect(Math.abs(truth.latency_check!.error.latency_mean!)).toBeLessThan(0.15)
    expect(truth.within_goal).toBe(true)
  })
})

describe('the capacity model', () => {
  it('Erlang C matches the tables: 10 servers at 8 Erlangs wait 40.9 % of the time', () => {
    expect(erlangC(10, 8)).toBeCloseTo(0.4092, 3)
    expect(erlangC(100, 50)).toBeLessThan(1e-6)
    expect(erlangC(5, 5)).toBe(1)
  })

  it('recovers per-request demands by least squares and predicts nothing past the ceiling', async () => {
    const { sweep } = await runSweep(sweepOptions(DEFAULT_PROXY, { check: false }))
    const d = measureDemands(sweep.points, { workers: 1, fdLimit: 20000 })!
    expect(d.holding_s).toBeCloseTo(5.6, 1)
    expect(d.connections_per_rps['mock-openai']).toBeCloseTo(0.55 * 5.6, 1)
    expect(d.cpu_percent_per_rps).toBeCloseTo(1, 2)
    expect(d.cpu_idle_percent).toBeCloseTo(20, 0)
    expect(d.rss_mb_per_stream).toBeCloseTo(0.5, 2)
    const ceiling = bindingBound(boundsFor(d, { workers: 1, measuredWorkers: 1, memoryMb: 2048 }))!.rate!
    expect(predictAt(d, ceiling * 1.01, ceiling, 'constant', 1)).toBeNull()
    const low = predictAt(d, ceiling * 0.3, ceiling, 'constant', 1)!
    expect(low.wait_p95_ms).toBe(0)
    expect(predictKnee(d, SLO, ceiling, 'constant', 1)!).toBeGreaterThan(0.9 * ceiling)
    expect(predictKnee(d, { ...SLO, ttft_p95_ms: 1000 }, ceiling, 'constant', 1)).toBeNull()
  })

  it('binds on memory when streams are heavy and the instance small', async () => {
    const proxy = { ...DEFAULT_PROXY, rssPerStreamMb: 10 }
    const { sweep } = await runSweep(sweepOptions(proxy, { check: false, memoryMb: 1024 }))
    const d = sweep.demands!
    const bounds = boundsFor(d, { workers: 1, measuredWorkers: 1, memoryMb: 1024 })
    // (1024 x 0.85 - 260) / 10 = 61 streams / 5.6 s = 10.9 req/s
    expect(bindingBound(bounds)).toMatchObject({ resource: 'memory', rate: expect.closeTo(10.9, 0) })
  })

  it('scales the pool and the cores with the workers', async () => {
    const { sweep } = await runSweep(sweepOptions(DEFAULT_PROXY, { check: false }))
    const two = boundsFor(sweep.demands!, { workers: 2, measuredWorkers: 1, memoryMb: 4096 })
    expect(two.find((b) => b.resource === 'connections')!.rate).toBeCloseTo(2 * ceilingOf(DEFAULT_PROXY), 0)
    expect(two.find((b) => b.resource === 'cpu')!.rate).toBeCloseTo(180, 0)
  })
})

describe('what binds, measured', () => {
  it('names the test machine when no resource of the proxy was near its limit', async () => {
    const { sweep } = await runSweep(sweepOptions(DEFAULT_PROXY, { check: false }))
    const broke = sweep.points.find((p) => p.verdict === 'fail')!
    const starved = {
      ...broke,
      resources: {
        ...broke.resources,
        upstream_in_use_by_provider: { 'mock-openai': 40, 'mock-anthropic': 30 },
        upstream_pending: 0,
        proxy_cpu_percent: 45,
        machine_busy_percent: 199,
      },
    }
    const binding = measuredBinding([starved], { workers: 1, memoryMb: 2048, cpuCount: 2 })
    expect(binding.resource).toBe('machine_cpu')
    expect(binding.evidence).toContain('100 % busy')
  })

  it('blames the CPU, not the pool, when a full pool was full of streams the CPU slowed down', async () => {
    const { sweep } = await runSweep(sweepOptions({ ...DEFAULT_PROXY, workers: 2 }, { check: false }))
    const rates = sweep.points.filter((p) => p.target_rps !== null)
    const broke = rates.find((p) => p.verdict === 'fail')!
    // Streams held their connections 2.6x longer: the pool filled at half the rate it was sized for.
    const slowed = {
      ...broke,
      achieved_rps: 30,
      resources: {
        ...broke.resources,
        upstream_in_use: 400,
        upstream_pending: 40,
        proxy_cpu_percent: 70,
        machine_busy_percent: 199,
      },
    }
    const fullPool = { workers: 2, memoryMb: 2048, cpuCount: 2 }
    const starved = measuredBinding([rates[0], slowed], fullPool)
    expect(starved.resource).toBe('machine_cpu')
    expect(starved.evidence).toMatch(/held their connection 13.3 s against 5.6 s/)
    const busy = measuredBinding(
      [rates[0], { ...slowed, resources: { ...slowed.resources, proxy_cpu_percent: 190 } }],
      fullPool,
    )
    expect(busy.resource).toBe('cpu')
    expect(measuredBinding([rates[0], broke], fullPool).resource).toBe('connections')
  })
})

describe('sizing', () => {
  it('turns users into a rate through think time and response time', () => {
    expect(usersToRate(1000, 30, 5.5)).toBeCloseTo(28.17, 2)
  })

  it('sizes instances from the binding ceiling less the headroom, and pools by Little law', async () => {
    const { sweep } = await runSweep(sweepOptions(DEFAULT_PROXY, { check: false }))
    const sizing = planSizing({
      headroom: 0.3,
      thinkTimeS: 30,
      responseTimeS: 5.6,
      users: [1000, 10_000, 100_000],
      rates: [100],
      memoryMb: 2048,
      // The model alone: the knee's cap has tests of its own below.
      sweeps: [{ workers: 1, demands: sweep.demands, knee: null }],
    })
    const option = sizing.options[0]
    expect(option.binding).toBe('connections')
    expect(option.planned_rps).toBeCloseTo(0.7 * option.capacity_rps!, 1)
    expect(option.binding_with_pools).toBe('cpu')
    // Little: 80 req/s x 0.55 x 5.6 s = 246 connections in use, + 3 sqrt = 294.
    expect(option.pool_per_worker['mock-openai']).toBe(poolFor(80, 0.55 * 5.6, 1))
    expect(option.pool_per_worker['mock-openai']).toBeGreaterThan(280)
    const rows = sizing.rows.map((r) => [r.users, r.instances[0].instances])
    const per = option.planned_rps!
    expect(rows).toEqual([
      [1000, Math.ceil(1000 / 35.6 / per)],
      [10_000, Math.ceil(10_000 / 35.6 / per)],
      [100_000, Math.ceil(100_000 / 35.6 / per)],
      [null, Math.ceil(100 / per)],
    ])
    expect(sizing.rows[2].recommended).toEqual({ workers: 1, instances: rows[2][1] })
  })

  /** The default proxy with a TTFT p95 of 1 s + 100 ms per req/s: the 2 s SLO breaks just above 10 req/s. */
  async function ttftGrowsWithRate() {
    const base = syntheticStep(DEFAULT_PROXY)
    const slower: typeof base = async (spec, options) => {
      const result = await base(spec, options)
      const p95 = 1000 + (100 * result.window.completed_in_window) / options.windowS
      return {
        ...result,
        window: { ...result.window, ttft_ms: { p50: p95 * 0.6, p90: p95 * 0.9, p95, p99: p95 * 1.3 } },
      }
    }
    return (await runSweep(sweepOptions(DEFAULT_PROXY, { step: slower, check: false }))).sweep
  }
  const plan = (sweep: { demands: Demands | null; knee: Knee | null }) =>
    planSizing({
      headroom: 0.3,
      thinkTimeS: 30,
      responseTimeS: 6,
      users: [1000],
      rates: [],
      memoryMb: 2048,
      sweeps: [{ workers: 1, demands: sweep.demands, knee: sweep.knee }],
    })

  it('plans an instance at most at the SLO knee its sweep measured, below every resource ceiling', async () => {
    const sweep = await ttftGrowsWithRate()
    expect(sweep.knee).toMatchObject({ rate: 10, first_fail_rate: 10.6, bracketed: true })
    expect(bindingBound(sweep.bounds)).toMatchObject({ resource: 'connections', rate: 32.49 })
    const sizing = plan(sweep)
    // Planned at 32.49 x 0.7 = 22.7 req/s, an instance would run where the sweep measured TTFT p95 3.3 s.
    expect(sizing.options[0]).toMatchObject({ capacity_rps: 10, binding: 'slo', planned_rps: 7 })
    // The pools were a third full where it broke: larger ones would not move the knee.
    expect(sizing.options[0]).toMatchObject({ capacity_with_pools_rps: 10, binding_with_pools: 'slo' })
    // 1000 users are 27.8 req/s: four instances at 7 req/s each (two at the modelled ceiling).
    expect(sizing.rows[0].recommended).toEqual({ workers: 1, instances: 4 })
  })

  it('caps nothing with a knee the sweep never saw break: every rate held, the instance carries at least that', async () => {
    const sweep = await ttftGrowsWithRate()
    const held = { ...sweep.knee, first_fail_rate: null, bracketed: false }
    expect(plan({ ...sweep, knee: held }).options[0]).toMatchObject({
      capacity_rps: 32.49,
      binding: 'connections',
      capacity_with_pools_rps: 79.92,
      binding_with_pools: 'cpu',
    })
    // The same knee, bracketed, is the ceiling.
    expect(plan(sweep).options[0].capacity_rps).toBe(10)
  })

  it("keeps the ceiling with larger pools the model's when the pools were nearly full where the SLO broke", async () => {
    const { sweep } = await runSweep(sweepOptions(DEFAULT_PROXY, { check: false }))
    expect(sweep.knee).toMatchObject({ rate: 31.4, first_fail_rate: 32, bracketed: true })
    const option = plan(sweep).options[0]
    // Queueing for a connection broke the SLO just under the pool's ceiling (32.48 req/s): the knee
    // binds the instance as configured, and the pools sized for the CPU's ceiling may move it.
    expect(option).toMatchObject({ capacity_rps: 31.4, binding: 'slo', planned_rps: 21.98 })
    expect(option).toMatchObject({ capacity_with_pools_rps: 80, binding_with_pools: 'cpu' })
  })

  it('spreads rates evenly from 15 % of the maximum up to it', () => {
    expect(sweepRates(40, 5)).toEqual([6, 14.5, 23, 31.5, 40])
  })
})
