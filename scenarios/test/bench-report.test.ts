import { describe, expect, it } from 'vitest'
import { heldSteady } from '../bench/measure.ts'
import type { OpenResult } from '../bench/open-loop.ts'
import {
  added,
  addedGoal,
  complete,
  costPerRequest,
  equalCpu,
  equalCpuGoal,
  generatorLine,
  goalLine,
  keptSchedule,
  lowest,
  MAX_SEND_LAG_MS,
  medianRound,
  memoryGoals,
  openTable,
  ownTimeLine,
  projectedSpeedup,
  type ShedPhase,
  shedGoals,
  stealLine,
  table,
  throughputRatio,
  trend,
  warmLine,
  workerShares,
} from '../bench/report.ts'

describe('benchmark verdicts', () => {
  it('names the fastest reference: the lowest CPU per request', () => {
    const cpu = new Map([
      ['fastify + undici 7', 45],
      ['fastify + undici 8', 60],
      ['node:http dispatch', 38],
    ])
    expect(lowest(cpu)).toBe('node:http dispatch')
    expect(() => lowest(new Map())).toThrow()
  })

  it('reads the throughput ratio on equal CPU as the median of the per-round ratios', () => {
    const rounds = [
      new Map([
        ['ref', 40],
        ['proxy', 50],
      ]),
      new Map([
        ['ref', 44],
        ['proxy', 40],
      ]),
      new Map([
        ['ref', 30],
        ['proxy', 60],
      ]),
    ]
    // per round: 0.8, 1.1, 0.5 -> median 0.8
    expect(throughputRatio(rounds, 'proxy', 'ref')).toBeCloseTo(0.8)
  })

  it('meets the equal-CPU goal only when the alone and the paired readings both reach it', () => {
    const round = (a: number, b: number, proxy: number) =>
      new Map([
        ['ref a', a],
        ['ref b', b],
        ['proxy', proxy],
      ])
    // Alone the proxy keeps up with the fastest reference (ref b, 40 us); paired, sharing the core's
    // caches, it does not (ref a is the fastest there): the goal is missed, and says why.
    const alone = [round(50, 40, 40), round(52, 41, 41), round(49, 40, 39)]
    const paired = [round(45, 50, 60), round(46, 52, 58), round(44, 49, 61)]
    const refs = ['ref a', 'ref b']
    const goal = (a: typeof alone, p: typeof alone) =>
      equalCpuGoal({ alone: equalCpu(a, refs), paired: equalCpu(p, refs) }, 'proxy')
    const missed = goal(alone, paired)
    expect(missed.met).toBe(false)
    expect(missed.detail).toBe('alone 1.00x ref b, paired 0.75x ref a')
    // The other way round it is missed too; with both at or above 1.0 it is met.
    expect(goal(paired, alone).met).toBe(false)
    const fast = [round(45, 50, 44), round(46, 52, 46)]
    expect(goal(fast, fast).met).toBe(true)
  })

  it('subtracts percentiles one by one for the latency added', () => {
    expect(added({ p50: 2.5, p99: 9 }, { p50: 2, p99: 10 })).toEqual({ p50: 0.5, p99: -1 })
  })

  it('gives start, peak, end and the least-squares slope per minute', () => {
    // 2 MB a minute, sampled every 30 s, with a peak in the middle
    const samples = [0, 30, 60, 90, 120].map((seconds) => ({ seconds, value: 100 + seconds / 30 }))
    samples[2] = { seconds: 60, value: 150 }
    const t = trend(samples)
    expect([t.start, t.peak, t.end]).toEqual([100, 150, 104])
    expect(trend(samples.filter((s) => s.seconds !== 60)).perMinute).toBeCloseTo(2)
    expect(trend([])).toEqual({ start: 0, peak: 0, end: 0, perMinute: 0 })
  })

  it('projects two workers from their CPU time per request: twice one process when each is as cheap', () => {
    const single = { workersMs: [1000], primaryMs: 0, workerRequests: [10_000] }
    const cluster = (workersMs: number[], workerRequests: number[], primaryMs = 0) => ({
      workersMs,
      primaryMs,
      workerRequests,
    })
    expect(projectedSpeedup(single, cluster([1000, 1000], [10_000, 10_000]))).toBeCloseTo(2)
    // a worker the scheduler favoured served more, at the same cost a request: still 2
    expect(projectedSpeedup(single, cluster([1200, 800], [12_000, 8_000]))).toBeCloseTo(2)
    // the costlier worker limits the cluster: 20 % more CPU a request than one process, 1.67x
    expect(projectedSpeedup(single, cluster([1200, 1000], [10_000, 10_000]))).toBeCloseTo(2 / 1.2)
    // the primary's CPU is shared out over the workers by the requests they served
    expect(projectedSpeedup(single, cluster([1000, 1000], [10_000, 10_000], 200))).toBeCloseTo(2 / 1.1)
    expect(costPerRequest(cluster([900, 300], [9_000, 3_000], 120))).toEqual([0.11, 0.11])
    // a worker that served nothing: no speed-up
    expect(projectedSpeedup(single, cluster([1000, 50], [20_000, 0]))).toBe(0)
  })

  it("splits the generator's count by the workers' own counts, and refuses counts that disagree", () => {
    const before = new Map([
      [11, 1000],
      [12, 500],
    ])
    const after = new Map([
      [11, 7000],
      [12, 4500],
    ])
    // 10,000 served, 10,010 counted by the generator: split 60/40
    expect(workerShares([11, 12], before, after, 10_010, 128)).toEqual([6006, 4004])
    // a worker the counts do not list, counts that miss a tenth of the requests, no requests
    expect(() => workerShares([11, 13], before, after, 10_000, 128)).toThrow(/worker 13/)
    expect(() => workerShares([11, 12], before, after, 11_000, 128)).toThrow(/counted 10000 requests/)
    expect(() => workerShares([11, 12], before, before, 0, 128)).toThrow(/counted 0/)
  })

  it('prints a goal as MET, MISSED or NOT JUDGED', () => {
    expect(goalLine({ name: 'p99 <= 1 ms', met: true, detail: '0.4 ms' })).toBe(
      'goal: p99 <= 1 ms: 0.4 ms: MET',
    )
    expect(goalLine({ name: 'x', met: false, detail: 'y' })).toMatch(/MISSED$/)
    expect(goalLine({ name: 'x', met: true, detail: 'y', judged: false })).toMatch(/NOT JUDGED$/)
  })

  it('calls a warm-up steady only when every gateway held its CPU per request within the tolerance', () => {
    expect(heldSteady([], [300, 150], 0.05)).toBe(false)
    expect(heldSteady([300, 150], [290, 148], 0.05)).toBe(true)
    // The whole machine a third slower: every gateway alike, steady.
    expect(heldSteady([300, 150, 200], [400, 200, 268], 0.05)).toBe(true)
    // The proxy still settling (-10 %) while the reference holds: not steady.
    expect(heldSteady([330, 150], [297, 151], 0.05)).toBe(false)
    expect(heldSteady([300], [300, 150], 0.05)).toBe(false)
    expect(warmLine({ seconds: 12, steady: true, requests: [1, 2] })).toMatch(
      /^warm-up: 12 s .* held within 5 %/,
    )
    expect(warmLine({ seconds: 40, steady: false, requests: [1, 2] })).toMatch(/still moving more than 5 %/)
  })

  it('says how much CPU the hypervisor took while measuring, and warns when it is enough to move the tail', () => {
    expect(stealLine({ 0: null, 1: null })).toBeUndefined()
    const quiet = stealLine({ 0: 0.2, 1: 0.04 })
    expect(quiet).toBe('CPU stolen by the hypervisor while measuring: CPU 0 0.2 %, CPU 1 0.0 %')
    const noisy = stealLine({ 0: 0.3, 1: 4.25 })
    expect(noisy).toMatch(/^CPU stolen by the hypervisor while measuring: CPU 0 0.3 %, CPU 1 4.3 %; /)
    expect(noisy).toMatch(/re-run on a quieter one before trusting the tail/)
    expect(stealLine({ 0: null, 1: 1 })).toMatch(/CPU 1 1.0 %; the latency figures include/)
  })

  it('says at which priority the generator sent, and what a generator that could not be raised risks', () => {
    expect(generatorLine(-20, -20)).toMatch(
      /^generator: on CPU 1 beside the mock, at nice -20 while it sent \(ahead of the mock/,
    )
    const own = generatorLine(0, -20)
    expect(own).toMatch(/at nice 0: its priority could not be raised \(run as root or with CAP_SYS_NICE\)/)
    expect(own).not.toMatch(/ahead of the mock/)
  })

  it('renders Markdown tables with fixed decimals', () => {
    expect(table(['a', 'b'], [['x', 1.234]], 1)).toBe('| a | b |\n|---|---|\n| x | 1.2 |')
  })

  const result = (name: string, p50: number, p99: number, extra: Partial<OpenResult> = {}): OpenResult => ({
    name,
    sent: 100,
    ok: 100,
    dropped: 0,
    failures: {},
    latency: { p50, p90: p50, p99, max: p99 },
    ttfb: { p50, p90: p50, p99, max: p99 },
    sendLag: { p50: 0, p90: 0, p99: 0.1, max: 0.2 },
    connections: 0,
    ...extra,
  })

  it('tables open-model results against the first target and tells a complete run', () => {
    const direct = result('direct', 1, 2)
    const proxy = result('proxy', 1.3, 2.8, { ok: 98, failures: { http_503: 2 }, connections: 7 })
    const rows = openTable([direct, proxy], 'latency').split('\n')
    expect(rows[3]).toBe(
      '| proxy | 100 | 98 | 0 | http_503 2 | 1.30 | 1.30 | 2.80 | 0.30 | 0.80 | 0.10 | 7 |',
    )
    expect(complete(direct)).toBe(true)
    expect(complete(proxy)).toBe(false)
    expect(ownTimeLine(direct, added(direct.latency, direct.latency))).toBeUndefined()
    const timed = { ...proxy, own: { p50: 0.17, p90: 0.2, p99: 0.41, max: 3 } }
    expect(ownTimeLine(timed, added(proxy.latency, direct.latency))).toBe(
      'proxy: its own time (Server-Timing proxy;dur) p50 0.17 ms, p99 0.41 ms, of the p50 0.30 ms and p99 ' +
        '0.80 ms it added; the rest is time the requests waited (for the core it shares, in queues, in the kernel)',
    )
  })

  it('reads open-model rounds at the median added p99 and fails them all for one lost arrival', () => {
    // Added TTFB p99 of the proxy (index 2) per round: 25, 0.5, 0.8; the reference's 0.1 in each.
    const round = (directP99: number, proxyP99: number, extra: Partial<OpenResult> = {}) => [
      result('direct', 1, directP99),
      result('reference', 1.1, directP99 + 0.1),
      result('proxy', 1.3, proxyP99, extra),
    ]
    const rounds = [round(10, 35), round(6, 6.5), round(5, 5.8)]
    const read = medianRound(rounds, 2, 'ttfb')
    expect(read.round).toBe(rounds[2])
    expect(read.at).toBe(2)
    expect(read.added.p99).toBeCloseTo(0.8)
    expect(read.added.p50).toBeCloseTo(0.3)
    expect(read.p99s.map((x) => Number(x.toFixed(2)))).toEqual([25, 0.5, 0.8])
    expect(read.complete).toBe(true)
    // An even count is read at the higher middle round: the median never rounds down to the better one.
    expect(medianRound(rounds.slice(1), 2, 'ttfb').added.p99).toBeCloseTo(0.8)
    // The best round does not hide a round that dropped streams.
    const lossy = [...rounds.slice(0, 2), round(5, 5.8, { dropped: 3 })]
    expect(medianRound(lossy, 2, 'ttfb').complete).toBe(false)
    expect(() => medianRound([], 2, 'ttfb')).toThrow(/no open-model round/)
  })

  it('judges open-model rounds only where the generator kept its schedule', () => {
    const lag = (p99: number) => ({ sendLag: { p50: p99 / 2, p90: p99, p99, max: p99 } })
    const round = (directP99: number, proxyP99: number, lagP99 = 0.9) => [
      result('direct', 1, directP99, lag(lagP99)),
      result('reference', 1.1, directP99 + 0.1, lag(lagP99)),
      result('proxy', 1.3, proxyP99, lag(lagP99)),
    ]
    expect(keptSchedule(round(5, 5.5, MAX_SEND_LAG_MS))).toBe(true)
    expect(keptSchedule(round(5, 5.5, MAX_SEND_LAG_MS + 0.01))).toBe(false)
    // A saturated load side: the mock's own tail swamps the gateways', and two rounds read the
    // proxy as faster than the mock it calls. The median of all three would be MET.
    const saturated = [round(48, 60, 15.7), round(1700, 48, 12), round(900, 40, 11), round(5, 6.5)]
    const worst = medianRound(saturated.slice(0, 3), 2, 'ttfb')
    expect(worst.judged).toBe(false)
    expect(worst.lags).toEqual([15.7, 12, 11])
    const voided = addedGoal('TTFB added p99 <= 1 ms', worst)
    expect(voided.met).toBe(false)
    expect(goalLine(voided)).toMatch(
      /fell behind its schedule in 3 of 3 rounds \(send lag p99 15.70, 12.00, 11.00 ms, over 2 ms\).*: NOT JUDGED$/,
    )
    // Half the rounds late is not a majority kept: still not judged.
    expect(medianRound([saturated[0], saturated[3]], 2, 'ttfb').judged).toBe(false)
    // One late round of three is left out; the median is read over the other two (the higher one).
    const mixed = [round(5, 5.3), round(1700, 48, 12), round(5, 5.9)]
    const read = medianRound(mixed, 2, 'ttfb')
    expect(read.judged).toBe(true)
    expect(read.at).toBe(2)
    expect(read.added.p99).toBeCloseTo(0.9)
    const goal = addedGoal('TTFB added p99 <= 1 ms', read)
    expect(goal.met).toBe(true)
    expect(goalLine(goal)).toMatch(
      /^goal: TTFB added p99 <= 1 ms: 0.90 ms \(95 % bounds 0.90 to 0.90 ms\), the median of 2 rounds .*those rounds are left out: MET$/,
    )
    expect(addedGoal('TTFB added p99 <= 0.5 ms', read, { maxMs: 0.5 }).met).toBe(false)
    // One round: judged on its own schedule.
    expect(addedGoal('latency', medianRound([round(2, 2.8)], 2, 'latency')).met).toBe(true)
    const late = addedGoal('latency', medianRound([round(2, 2.8, 10.3)], 2, 'latency'))
    expect([late.met, late.judged]).toEqual([false, false])
    expect(late.detail).toMatch(
      /^p99 0.80 ms \(95 % bounds 0.80 to 0.80 ms\), p50 0.30 ms; the generator fell behind its schedule in 1 of 1 round /,
    )
    const lossy = addedGoal(
      'latency',
      medianRound([round(2, 2.8).map((r, i) => (i === 2 ? { ...r, dropped: 1 } : r))], 2, 'latency'),
    )
    expect([lossy.met, lossy.judged]).toEqual([false, true])
  })

  it('judges an added p99 only when its confidence bounds fall on one side of the goal', () => {
    // p99 read with its 95 % bounds (quantileBand), as the open loop summarises a run.
    const at = (p99: number, low: number, high: number) => ({
      p50: 1,
      p90: 1,
      p99,
      max: high,
      p99Low: low,
      p99High: high,
    })
    const run = (direct: ReturnType<typeof at>, proxy: ReturnType<typeof at>) => [
      result('direct', 1, direct.p99, { latency: direct }),
      result('proxy', 1.3, proxy.p99, { latency: proxy }),
    ]
    const direct = at(2.17, 2.12, 2.22)
    // 0.99 ms read, but the p99s could as well be 0.89 or 1.09 ms apart: the run cannot tell.
    const close = medianRound([run(direct, at(3.16, 3.06, 3.26))], 1, 'latency')
    expect(close.added.p99).toBeCloseTo(0.99)
    expect(close.bounds.low).toBeCloseTo(0.84)
    expect(close.bounds.high).toBeCloseTo(1.14)
    const undecided = addedGoal('latency added p99 <= 1 ms', close)
    expect([undecided.met, undecided.judged]).toEqual([false, false])
    expect(goalLine(undecided)).toMatch(
      /p99 0.99 ms \(95 % bounds 0.84 to 1.14 ms\).*cannot tell whether it is within 1.00 ms.*: NOT JUDGED$/,
    )
    // Well within, or well past: judged either way.
    const within = addedGoal('latency', medianRound([run(direct, at(2.7, 2.65, 2.75))], 1, 'latency'))
    expect([within.met, within.judged]).toEqual([true, true])
    const past = addedGoal('latency', medianRound([run(direct, at(4.2, 3.3, 5.1))], 1, 'latency'))
    expect([past.met, past.judged]).toEqual([false, true])
    expect(goalLine(past)).toMatch(/: MISSED$/)
    // Missed beside a reference gateway that misses it too: the machine's floor is said, the verdict stays.
    const bare = (p99: number) => ({
      name: 'bare gateway',
      read: medianRound([run(direct, at(p99, p99 - 0.05, p99 + 0.05))], 1, 'latency'),
    })
    const floor = addedGoal('latency', medianRound([run(direct, at(4.2, 3.3, 5.1))], 1, 'latency'), {
      reference: bare(4.0),
    })
    expect([floor.met, floor.judged]).toEqual([false, true])
    expect(floor.detail).toMatch(
      /; bare gateway in the proxy's place adds 1.83 ms here too: this machine's floor is above the goal \(the proxy \+0.20 ms to it\)$/,
    )
    const own = addedGoal('latency', medianRound([run(direct, at(4.2, 3.3, 5.1))], 1, 'latency'), {
      reference: bare(2.5),
    })
    expect(own.detail).toMatch(
      /; bare gateway in the proxy's place adds 0.33 ms here: the rest is the proxy's$/,
    )
    // A goal met needs no excuse.
    expect(
      addedGoal('latency', medianRound([run(direct, at(2.7, 2.65, 2.75))], 1, 'latency'), {
        reference: bare(4.0),
      }).detail,
    ).not.toMatch(/floor/)
    // A lost request fails the run whatever its bounds.
    const lossy = medianRound(
      [run(direct, at(3.16, 3.06, 3.26)).map((r, i) => (i === 1 ? { ...r, ok: 99 } : r))],
      1,
      'latency',
    )
    expect([addedGoal('latency', lossy).met, addedGoal('latency', lossy).judged]).toEqual([false, true])
  })

  describe('load shedding (bench:shed)', () => {
    const phase = (over: Partial<ShedPhase>): ShedPhase => ({
      rate: 300,
      seconds: 20,
      sent: 6000,
      ok: 2000,
      shed: 4000,
      other: {},
      ok_ms: { p99: 1009 },
      shed_ms: { p99: 4.5 },
      ...over,
    })
    const unloaded = phase({ rate: 50, seconds: 10, sent: 500, ok: 500, shed: 0, ok_ms: { p99: 1005 } })
    const verdicts = (overloaded: ShedPhase, calm = unloaded) =>
      shedGoals(calm, overloaded, 100).map((g) =>
        g.judged === false ? 'NOT JUDGED' : g.met ? 'MET' : 'MISSED',
      )

    it('meets every goal when the proxy admits its capacity, on time, and sheds the rest at once', () => {
      expect(verdicts(phase({}))).toEqual(['MET', 'MET', 'MET', 'MET'])
      expect(shedGoals(unloaded, phase({}), 100).map(goalLine)[0]).toBe(
        'goal: admitted requests at 300 req/s keep at least 80.0 % of the capacity (100 req/s): 100.0 req/s admitted (2000 of 6000): MET',
      )
    })

    it('fails a limiter that refuses everything, whose admitted p99 is empty', () => {
      expect(verdicts(phase({ ok: 0, shed: 6000, ok_ms: { p99: 0 } }))).toEqual([
        'MISSED',
        'NOT JUDGED',
        'MET',
        'MET',
      ])
      expect(verdicts(phase({ ok: 1000, shed: 5000 }))[0]).toBe('MISSED')
    })

    it('fails admitted requests that queue, and refusals that are slow', () => {
      expect(verdicts(phase({ ok_ms: { p99: 2011 } }))[1]).toBe('MISSED')
      expect(verdicts(phase({ shed_ms: { p99: 51 } }))[2]).toBe('MISSED')
    })

    it('does not judge the shed latency of a load that never overloaded the proxy', () => {
      const goals = shedGoals(unloaded, phase({ ok: 6000, shed: 0, shed_ms: { p99: 0 } }), 100)
      expect(goals[2]).toMatchObject({ met: false, judged: false })
      expect(goals[2].detail).toMatch(/nothing was shed at 300 req\/s: the load never overloaded the proxy/)
    })

    it('fails failures other than shedding, and shedding under capacity', () => {
      expect(verdicts(phase({ other: { '502': 3 } }))[3]).toBe('MISSED')
      expect(verdicts(phase({}), { ...unloaded, ok: 480, shed: 20 })[3]).toBe('MISSED')
      expect(shedGoals(unloaded, phase({ other: { '502': 3 } }), 100)[3].detail).toBe(
        '3 failed: {"502":3}; 0 of 500 shed at 50 req/s',
      )
    })
  })

  describe('memory through the extreme tier (bench:memory)', () => {
    /** One reading a second for `seconds`, rising from 150 MB by `perMinute`. */
    const readings = (seconds: number, perMinute = 0, from = 150) =>
      Array.from({ length: seconds }, (_, i) => ({ seconds: i + 1, value: from + (perMinute * i) / 60 }))
    const judge = (samples: ReturnType<typeof readings>, tierStatus = 'passed', minutes = 30) =>
      memoryGoals({ samples, minutes, maxMb: 200, maxSlope: 0.5, tierStatus })
    const verdicts = (goals: ReturnType<typeof judge>) => goals.map((g) => goalLine(g).split(': ').at(-1))

    it('meets both goals when RSS stays low and flat through the whole run', () => {
      expect(verdicts(judge(readings(1800)))).toEqual(['MET', 'MET'])
      expect(verdicts(judge(readings(1800, 1)))).toEqual(['MET', 'MISSED'])
      expect(verdicts(judge(readings(1800, 0, 201)))).toEqual(['MISSED', 'MET'])
      // A short run judges the peak; the slope needs 30 minutes.
      expect(verdicts(judge(readings(180), 'passed', 3))).toEqual(['MET', 'NOT JUDGED'])
    })

    it('fails a proxy that went away during the run, however low its RSS was until then', () => {
      const goals = judge(readings(600))
      expect(verdicts(goals)).toEqual(['MISSED', 'MISSED'])
      expect(goals[0].detail).toBe(
        'peak 150.0 MB; RSS read for 600 of 1800 s: the proxy exited or stopped being readable',
      )
      expect(verdicts(judge(readings(600), 'broken'))).toEqual(['MISSED', 'MISSED'])
    })

    it('does not judge a run without readings, or a tier whose load was not served', () => {
      expect(verdicts(judge([]))).toEqual(['NOT JUDGED', 'NOT JUDGED'])
      const failed = judge(readings(1800), 'failed')
      expect(verdicts(failed)).toEqual(['NOT JUDGED', 'NOT JUDGED'])
      expect(failed[0].detail).toMatch(/the tier failed: RSS under a load not served/)
      expect(verdicts(judge(readings(1800), 'inconclusive'))).toEqual(['NOT JUDGED', 'NOT JUDGED'])
    })
  })
})
