import { linearRegression } from 'simple-statistics'
import { median, type WarmUp } from './measure.ts'
import type { LatencySummary, OpenResult } from './open-loop.ts'

// The arithmetic of the benchmarks' verdicts, apart from any measurement: which reference is the
// fastest, what a target keeps of its throughput, what it adds to latency, how RSS trends, what
// two workers would do on two cores of their own, and how a goal line and a table are printed.

/** A goal and whether it was met, as every benchmark prints it. */
export interface Goal {
  readonly name: string
  readonly met: boolean
  readonly detail: string
  /** False when the run was too short or too small to judge the goal (default true). */
  readonly judged?: boolean
}

export const goalLine = (g: Goal): string =>
  `goal: ${g.name}: ${g.detail}: ${g.judged === false ? 'NOT JUDGED' : g.met ? 'MET' : 'MISSED'}`

/** The name of the entry with the lowest value (the fastest reference by CPU per request). */
export function lowest(values: ReadonlyMap<string, number>): string {
  let best: string | undefined
  for (const [name, value] of values) if (best === undefined || value < values.get(best)!) best = name
  if (best === undefined) throw new Error('no values to compare')
  return best
}

/**
 * Throughput of `target` relative to `reference` on equal CPU, from paired rounds of CPU time per
 * request (both loaded at once): the median of the per-round ratios reference / target.
 */
export function throughputRatio(
  rounds: readonly ReadonlyMap<string, number>[],
  target: string,
  reference: string,
): number {
  return median(rounds.map((r) => r.get(reference)! / r.get(target)!))
}

/** One reading of CPU per request (rounds of it): its fastest reference, and each target's ratio to it. */
export interface EqualCpu {
  readonly fastest: string
  ratio(target: string): number
}

/** The fastest of `references` by median CPU per request over `rounds`, and throughput ratios to it. */
export function equalCpu(
  rounds: readonly ReadonlyMap<string, number>[],
  references: readonly string[],
): EqualCpu {
  const fastest = lowest(new Map(references.map((n) => [n, median(rounds.map((r) => r.get(n)!))])))
  return { fastest, ratio: (target) => throughputRatio(rounds, target, fastest) }
}

/**
 * The equal-CPU throughput goal, judged on both readings of CPU per request: alone (each gateway
 * loaded by itself, rounds rotating the order) and paired (all loaded at once on one core). Each
 * reading errs its own way: gateways that share a core share its caches, which costs a larger
 * program more than it would pay alone; a gateway loaded alone may not be saturated (the
 * generator holds it back), and pays for wake-ups it would not at full load. Met only when both
 * readings reach `min`, each against its own fastest reference.
 */
export function equalCpuGoal(
  readings: { readonly alone: EqualCpu; readonly paired: EqualCpu },
  target: string,
  min = 1,
): Goal {
  const { alone, paired } = readings
  const [a, p] = [alone.ratio(target), paired.ratio(target)]
  return {
    name: `${target} throughput >= ${min.toFixed(1)}x the fastest reference on equal CPU, alone and paired`,
    met: a >= min && p >= min,
    detail: `alone ${a.toFixed(2)}x ${alone.fastest}, paired ${p.toFixed(2)}x ${paired.fastest}`,
  }
}

export interface Percentiles {
  readonly p50: number
  readonly p99: number
}

/** Latency `target` adds over `base`, percentile by percentile (ms; negative when it is faster). */
export function added(target: Percentiles, base: Percentiles): Percentiles {
  return { p50: target.p50 - base.p50, p99: target.p99 - base.p99 }
}

export interface Bounds {
  readonly low: number
  readonly high: number
}

/**
 * What `target` adds at the p99 over `base`, within 95 % confidence: the widest difference of the
 * two p99s' own bounds (open-loop.ts quantileBand), which holds whether their errors go together
 * or not. A p99 read from a few thousand requests is uncertain by a sizeable share of its tail.
 */
export function addedP99Bounds(target: LatencySummary, base: LatencySummary): Bounds {
  return {
    low: (target.p99Low ?? target.p99) - (base.p99High ?? base.p99),
    high: (target.p99High ?? target.p99) - (base.p99Low ?? base.p99),
  }
}

/**
 * How much of the latency a target added was its own work, by its Server-Timing: the rest is
 * time the request waited (for the core the target shares, in queues, in the kernel). Undefined
 * when the target sent no Server-Timing.
 */
export function ownTimeLine(result: OpenResult, extra: Percentiles): string | undefined {
  if (!result.own) return undefined
  const ms = (v: number) => v.toFixed(2)
  return (
    `${result.name}: its own time (Server-Timing proxy;dur) p50 ${ms(result.own.p50)} ms, p99 ${ms(result.own.p99)} ms, ` +
    `of the p50 ${ms(extra.p50)} ms and p99 ${ms(extra.p99)} ms it added; the rest is time the requests waited ` +
    '(for the core it shares, in queues, in the kernel)'
  )
}

/** Stolen shares of the CPUs a run used (CPU number -> percent, null where not measured). */
export type Steal = Readonly<Record<number, number | null>>

/**
 * How much of each CPU the hypervisor gave to other guests while the run measured: latency on a
 * virtual machine includes the moments its CPUs were taken away, which no gateway can avoid.
 * Undefined where /proc/stat could not be read.
 */
/** How the open-model generator was scheduled beside the mock on its core (services.ts ahead). */
export function generatorLine(nice: number, raised: number): string {
  return nice === raised
    ? `generator: on CPU 1 beside the mock, at nice ${nice} while it sent (ahead of the mock, so its timer and its reads never waited for the mock's work)`
    : `generator: on CPU 1 beside the mock, at nice ${nice}: its priority could not be raised (run as root or with CAP_SYS_NICE), so on a busy core it may fall behind its schedule and the run not be judged`
}

export function stealLine(steal: Steal): string | undefined {
  const known = Object.entries(steal).filter((e): e is [string, number] => e[1] !== null)
  if (known.length === 0) return undefined
  const shares = known.map(([cpu, pct]) => `CPU ${cpu} ${pct.toFixed(1)} %`).join(', ')
  const worst = Math.max(...known.map(([, pct]) => pct))
  return (
    `CPU stolen by the hypervisor while measuring: ${shares}` +
    (worst >= 1
      ? '; the latency figures include those moments (a shared virtual machine: re-run on a quieter one before trusting the tail)'
      : '')
  )
}

/** What the warm-up before the paired rounds took, for the report. */
export function warmLine(warm: WarmUp): string {
  return warm.steady
    ? `warm-up: ${warm.seconds} s of load together, until every gateway's CPU per request, relative to the others', held within 5 % between slices`
    : `warm-up: ${warm.seconds} s of load together; CPU per request, relative to the others', still moving more than 5 % between slices (a noisy machine, or a gateway still settling)`
}

export interface Trend {
  readonly start: number
  readonly peak: number
  readonly end: number
  /** Least-squares slope, per minute. */
  readonly perMinute: number
}

/** Start, peak, end and least-squares slope per minute of samples taken at `seconds`. */
export function trend(samples: readonly { readonly seconds: number; readonly value: number }[]): Trend {
  if (samples.length === 0) return { start: 0, peak: 0, end: 0, perMinute: 0 }
  const slope = samples.length < 2 ? 0 : linearRegression(samples.map((s) => [s.seconds / 60, s.value])).m
  return {
    start: samples[0].value,
    peak: Math.max(...samples.map((s) => s.value)),
    end: samples[samples.length - 1].value,
    perMinute: slope,
  }
}

export interface ProcessCpu {
  /** CPU time each worker process used in the run, ms (one entry for a single process). */
  readonly workersMs: readonly number[]
  /** CPU time of the cluster primary, ms (0 without one). */
  readonly primaryMs: number
  /** Requests each worker served in the run, in the order of `workersMs`. */
  readonly workerRequests: readonly number[]
}

/** Each worker's CPU time per request, ms: its own plus its share of the primary's, by requests served. */
export function costPerRequest(p: ProcessCpu): number[] {
  const total = p.workerRequests.reduce((a, b) => a + b, 0)
  return p.workersMs.map((ms, i) => {
    const served = p.workerRequests[i]
    return served > 0 ? (ms + (p.primaryMs * served) / total) / served : Number.POSITIVE_INFINITY
  })
}

/**
 * Throughput n workers would reach on n cores of their own, relative to one process on one core,
 * from CPU time per request. A load spread evenly over the workers (node:cluster hands them its
 * connections in turn) saturates the worker that costs the most a request first: n / (its cost)
 * against 1 / (the single process's cost). How many requests each worker served in the measured
 * run is not its part under such a load: on a shared machine, the worker the scheduler gave more
 * CPU served more; its cost per request carries over.
 */
export function projectedSpeedup(single: ProcessCpu, cluster: ProcessCpu): number {
  const costliest = Math.max(...costPerRequest(cluster))
  return (cluster.workersMs.length * costPerRequest(single)[0]) / costliest
}

/**
 * Each worker's part of the `requests` the load generator counted, in the order of `pids`, from
 * the cluster's own counts by pid before and after the run. The two counts must agree: they differ
 * by the requests in flight when the generator stopped (at most `inFlight`, its connections) and by
 * a rounding of one percent, or each worker's CPU time per request would rest on a wrong count.
 */
export function workerShares(
  pids: readonly number[],
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
  requests: number,
  inFlight: number,
): number[] {
  const served = pids.map((pid) => {
    const [from, to] = [before.get(pid), after.get(pid)]
    if (from === undefined || to === undefined) throw new Error(`worker ${pid} is missing from the counts`)
    return to - from
  })
  const total = served.reduce((a, b) => a + b, 0)
  if (total <= 0 || Math.abs(total - requests) > Math.max(inFlight, requests * 0.01))
    throw new Error(`the workers counted ${total} requests, the load generator ${requests}`)
  return served.map((n) => (n * requests) / total)
}

/** A Markdown table; numbers are printed with `digits` decimals. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  digits = 2,
): string {
  const cell = (v: string | number) => (typeof v === 'number' ? v.toFixed(digits) : v)
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n')
}

export const pct = (x: number): string => `${(x * 100).toFixed(1)} %`

/**
 * The open-model results as a table, `metric` (latency to the last byte, or to the first data
 * byte) read from the intended send time, and what each target adds over the first (the direct call).
 */
export function openTable(results: readonly OpenResult[], metric: 'latency' | 'ttfb'): string {
  const base = results[0][metric]
  const label = metric === 'ttfb' ? 'TTFB' : 'latency'
  return table(
    [
      'target',
      'sent',
      'ok',
      'dropped',
      'failures',
      `${label} p50 ms`,
      'p90 ms',
      'p99 ms',
      'added p50 ms',
      'added p99 ms',
      'send lag p99 ms',
      'connections opened',
    ],
    results.map((r) => {
      const a = added(r[metric], base)
      const failures =
        Object.entries(r.failures)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ') || '0'
      return [
        r.name,
        String(r.sent),
        String(r.ok),
        String(r.dropped),
        failures,
        r[metric].p50,
        r[metric].p90,
        r[metric].p99,
        a.p50,
        a.p99,
        r.sendLag.p99,
        String(r.connections),
      ]
    }),
  )
}

/** Every arrival sent and answered with a 2xx. */
export const complete = (r: OpenResult): boolean => r.ok === r.sent && r.dropped === 0

/**
 * How late the open-model generator may send, at its p99, for a run's latencies to be judged (ms).
 * Its timer fires at most once a millisecond, so a generator that keeps up sends up to about 1 ms
 * late. Later than that it was short of CPU (it shares its core with the mock): it sent the
 * arrivals it owed in bursts the schedule never asked for, and read the answers late, so every
 * latency it measured carries its own delays, and what one target seems to add over another is
 * the load side's queueing, in either direction (a saturated round can show a gateway faster than
 * the mock it calls).
 */
export const MAX_SEND_LAG_MS = 2

/** The generator's send lag p99 in a round: the worst over its targets (ms). */
export const sendLagP99 = (round: readonly OpenResult[]): number =>
  Math.max(...round.map((r) => r.sendLag.p99))

/** The generator kept its schedule in a round: it sent every target's arrivals on time, within MAX_SEND_LAG_MS at the p99. */
export const keptSchedule = (round: readonly OpenResult[], maxLagMs = MAX_SEND_LAG_MS): boolean =>
  sendLagP99(round) <= maxLagMs

export interface OpenRounds {
  /** The round whose added p99 is the median of the judged rounds' (the higher middle one of an even count). */
  readonly round: readonly OpenResult[]
  /** Its position among the rounds, from 0. */
  readonly at: number
  /** What the target added over the direct call in that round. */
  readonly added: Percentiles
  /** Its added p99 in that round within 95 % confidence (addedP99Bounds). */
  readonly bounds: Bounds
  /** The added p99 of every round, in the order they ran. */
  readonly p99s: readonly number[]
  /** Every arrival of every round sent and answered. */
  readonly complete: boolean
  /** The generator's send lag p99 in every round, in the order they ran. */
  readonly lags: readonly number[]
  /** Most rounds kept the generator's schedule: the median is read over those, and can be judged. */
  readonly judged: boolean
}

/**
 * Several open-model rounds read as one, for the target at `index` (each round's first result is
 * the direct call): the round with the median added p99. One round's p99 rides on what else the
 * machine did in those seconds (a shared host's stall lengthens the tail of every target of the
 * round, most that of the one on the busiest core), so one reading swings by tens of ms from run
 * to run; the median of several is what the gateway adds, and a failed or dropped arrival in any
 * round still fails the run. Only the rounds in which the generator kept its schedule count
 * (keptSchedule): when they are not the majority, the run measured the load side and is not judged.
 */
export function medianRound(
  rounds: readonly (readonly OpenResult[])[],
  index: number,
  metric: 'latency' | 'ttfb',
  maxLagMs = MAX_SEND_LAG_MS,
): OpenRounds {
  if (rounds.length === 0) throw new Error('no open-model round to read')
  const addedOf = (r: readonly OpenResult[]) => added(r[index][metric], r[0][metric])
  const p99s = rounds.map((r) => addedOf(r).p99)
  const kept = rounds.map((_, i) => i).filter((i) => keptSchedule(rounds[i], maxLagMs))
  const judged = kept.length * 2 > rounds.length
  const order = (judged ? kept : rounds.map((_, i) => i)).sort((a, b) => p99s[a] - p99s[b])
  const at = order[Math.floor(order.length / 2)]
  const round = rounds[at]
  return {
    round,
    at,
    added: addedOf(round),
    bounds: addedP99Bounds(round[index][metric], round[0][metric]),
    p99s,
    complete: rounds.every((r) => complete(r[index])),
    lags: rounds.map((r) => sendLagP99(r)),
    judged,
  }
}

/**
 * The open-model goal: what the target adds at the p99 is at most `maxMs`, every arrival answered.
 * MET only when the added p99's upper confidence bound is within it (medianRound's bounds), MISSED
 * when its lower bound is past it (or an arrival failed or was dropped), otherwise NOT JUDGED: the
 * run had too few requests in its tail to tell, and a longer one would. Not judged either when the
 * generator fell behind its schedule (with the lag that voids the run). With `reference` (the
 * barest gateway, read the same way in runs of its own), a goal missed says what that gateway adds
 * on this machine: past the goal too, the machine's floor is above it, and the proxy's distance to
 * the reference is what the run shows of the proxy.
 */
export function addedGoal(
  name: string,
  read: OpenRounds,
  options: { maxMs?: number; maxLagMs?: number; reference?: { name: string; read: OpenRounds } } = {},
): Goal {
  const { maxMs = 1, maxLagMs = MAX_SEND_LAG_MS, reference } = options
  const ms = (x: number) => x.toFixed(2)
  const rounds = read.p99s.length
  const late = read.lags.filter((lag) => lag > maxLagMs).length
  const { low, high } = read.bounds
  const bounds = `95 % bounds ${ms(low)} to ${ms(high)} ms`
  const parts = [
    rounds > 1
      ? `${ms(read.added.p99)} ms (${bounds}), the median of ${rounds - (read.judged ? late : 0)} rounds (p50 ${ms(read.added.p50)} ms)`
      : `p99 ${ms(read.added.p99)} ms (${bounds}), p50 ${ms(read.added.p50)} ms`,
  ]
  if (!read.complete)
    parts.push(rounds > 1 ? 'some arrivals failed or were dropped' : 'some requests failed or were dropped')
  if (late > 0)
    parts.push(
      `the generator fell behind its schedule in ${late} of ${rounds} round${rounds > 1 ? 's' : ''} (send lag p99 ${read.lags.map(ms).join(', ')} ms, over ${maxLagMs} ms): ${
        read.judged
          ? 'those rounds are left out'
          : "its core was short of CPU, so the latencies are the load side's; re-run on a quieter machine"
      }`,
    )
  const undecided = read.judged && read.complete && low <= maxMs && high > maxMs
  if (undecided)
    parts.push(
      `the run cannot tell whether it is within ${ms(maxMs)} ms: too few requests in its tail to read the p99 closer (a longer run narrows the bounds)`,
    )
  const met = read.judged && read.complete && high <= maxMs
  if (!met && !undecided && read.judged && reference?.read.judged) {
    const floor = reference.read.added.p99
    parts.push(
      floor > maxMs
        ? `${reference.name} in the proxy's place adds ${ms(floor)} ms here too: this machine's floor is above the goal (the proxy ${read.added.p99 >= floor ? '+' : ''}${ms(read.added.p99 - floor)} ms to it)`
        : `${reference.name} in the proxy's place adds ${ms(floor)} ms here: the rest is the proxy's`,
    )
  }
  return { name, met, detail: parts.join('; '), judged: read.judged && !undecided }
}

/** One phase of `npm run bench:shed`: open-model load at `rate` for `seconds`, as its verdict reads it. */
export interface ShedPhase {
  readonly rate: number
  readonly seconds: number
  readonly sent: number
  /** Answered 200. */
  readonly ok: number
  /** Answered 503, shed by the proxy. */
  readonly shed: number
  /** Any other answer or failure, by status code or error. */
  readonly other: Readonly<Record<string, number>>
  readonly ok_ms: { readonly p99: number }
  readonly shed_ms: { readonly p99: number }
}

/** Fewer answers than this and a p99 is only their slowest few: the latency goals are not judged. */
export const MIN_ANSWERS_FOR_P99 = 100
/** Load shedding keeps the proxy serving: the overloaded phase admits at least this share of capacity. */
export const MIN_GOODPUT = 0.8

/**
 * The verdicts of `npm run bench:shed`: under three times its capacity, the proxy keeps admitting
 * about its capacity (a limiter that refuses everything would otherwise pass with an empty p99 of
 * admitted requests), those it admits wait no longer than twice the unloaded p99, those it sheds are
 * told at once (p99 within 50 ms), and nothing fails otherwise, nor is anything shed under
 * capacity. A load that got nothing shed never overloaded the proxy: the shed latency is then
 * not judged, nor is a p99 of fewer than MIN_ANSWERS_FOR_P99 answers.
 */
export function shedGoals(unloaded: ShedPhase, overloaded: ShedPhase, capacity: number): Goal[] {
  const ms = (x: number) => `${x.toFixed(1)} ms`
  const enough = unloaded.ok >= MIN_ANSWERS_FOR_P99 && overloaded.ok >= MIN_ANSWERS_FOR_P99
  const goodput = overloaded.ok / overloaded.seconds
  const failures = (p: ShedPhase) => Object.values(p.other).reduce((a, b) => a + b, 0)
  const failed = failures(unloaded) + failures(overloaded)
  const errors = { ...unloaded.other, ...overloaded.other }
  return [
    {
      name: `admitted requests at ${overloaded.rate} req/s keep at least ${pct(MIN_GOODPUT)} of the capacity (${capacity.toFixed(0)} req/s)`,
      met: goodput >= MIN_GOODPUT * capacity,
      detail: `${goodput.toFixed(1)} req/s admitted (${overloaded.ok} of ${overloaded.sent})`,
    },
    {
      name: 'admitted p99 <= 2x the unloaded p99',
      met: enough && overloaded.ok_ms.p99 <= 2 * unloaded.ok_ms.p99,
      detail: enough
        ? `${ms(overloaded.ok_ms.p99)} against ${ms(unloaded.ok_ms.p99)} (${(overloaded.ok_ms.p99 / unloaded.ok_ms.p99).toFixed(2)}x)`
        : `${unloaded.ok} and ${overloaded.ok} answers: too few to read a p99 (${MIN_ANSWERS_FOR_P99} or more each)`,
      judged: enough,
    },
    {
      name: 'shed requests answered 503 within 50 ms (p99)',
      met: overloaded.shed >= MIN_ANSWERS_FOR_P99 && overloaded.shed_ms.p99 <= 50,
      detail:
        overloaded.shed === 0
          ? `nothing was shed at ${overloaded.rate} req/s: the load never overloaded the proxy, so shedding was not tested`
          : overloaded.shed < MIN_ANSWERS_FOR_P99
            ? `${overloaded.shed} shed: too few to read a p99`
            : `${ms(overloaded.shed_ms.p99)} (${overloaded.shed} of ${overloaded.sent} shed)`,
      judged: overloaded.shed >= MIN_ANSWERS_FOR_P99,
    },
    {
      name: 'nothing fails but what is shed, and nothing is shed under capacity',
      met: failed === 0 && unloaded.shed === 0,
      detail: [
        failed === 0 ? 'no failures' : `${failed} failed: ${JSON.stringify(errors)}`,
        `${unloaded.shed} of ${unloaded.sent} shed at ${unloaded.rate} req/s`,
      ].join('; '),
    },
  ]
}

/** The share of a run's seconds that must have an RSS reading for a memory goal to be judged. */
export const MIN_RSS_COVERAGE = 0.9

/**
 * The verdicts of `npm run bench:memory`'s extreme tier, from RSS read every second: peak at most
 * `maxMb`, and slope over the second half at most `maxSlope` MB/min (judged on 30 minutes or more).
 * A proxy whose RSS stopped being readable early (it exited: killed for its memory, or crashed)
 * misses both, whatever the readings before; none at all (no /proc) is not a measurement. Nor is
 * the RSS of a tier that did not pass: a proxy that refused or failed much of the load held less.
 */
export function memoryGoals(options: {
  readonly samples: readonly { readonly seconds: number; readonly value: number }[]
  readonly minutes: number
  readonly maxMb: number
  readonly maxSlope: number
  readonly tierStatus: string
}): Goal[] {
  const { samples, minutes, maxMb, maxSlope, tierStatus } = options
  const all = trend(samples)
  const secondHalf = trend(samples.filter((s) => s.seconds >= (minutes * 60) / 2))
  const expected = Math.floor(minutes * 60)
  const covered = samples.length >= MIN_RSS_COVERAGE * expected
  const why =
    samples.length === 0
      ? 'no RSS reading: the proxy could not be read (no /proc?)'
      : !covered
        ? `RSS read for ${samples.length} of ${expected} s: the proxy exited or stopped being readable`
        : tierStatus !== 'passed'
          ? `the tier ${tierStatus}: RSS under a load not served is not the goal's`
          : undefined
  // A proxy that went away misses the goal; a run that could not measure, or whose load was not
  // served, is not judged.
  const judged = why === undefined || (samples.length > 0 && !covered)
  const verdict = (
    met: boolean,
    detail: string,
    judgedToo = true,
  ): Pick<Goal, 'met' | 'detail' | 'judged'> => ({
    met: why === undefined && met,
    detail: why === undefined ? detail : `${detail}; ${why}`,
    judged: judged && judgedToo,
  })
  return [
    {
      name: `RSS at most ${maxMb} MB through the extreme tier`,
      ...verdict(all.peak <= maxMb, `peak ${all.peak.toFixed(1)} MB`),
    },
    {
      name: `RSS flat: slope over the second half <= ${maxSlope} MB/min`,
      ...verdict(
        secondHalf.perMinute <= maxSlope,
        `${secondHalf.perMinute.toFixed(2)} MB/min over ${minutes} min${minutes >= 30 ? '' : ' (judged on --minutes 30)'}`,
        minutes >= 30,
      ),
    },
  ]
}
