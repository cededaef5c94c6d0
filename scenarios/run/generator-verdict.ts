// Was the load generator the limit? A generator that cannot keep up sends late and reads answers
// late, and every latency it reports then includes its own delay: such a run says nothing about the
// target, in either direction. It is `inconclusive` (its own exit code), never passed and never
// blamed on the target.
//
// The generator watches itself from inside (engines/gauges.ts): its CPU, its event-loop utilisation
// (a loop busy all the time leaves answers waiting in the socket buffers: the receive side), how late
// its event loop runs a due timer, and (open model) how late each request left against its intended
// send time. The rule reads each signal as a median over the seconds after the ramp-up, so a single
// slow second (a GC pause, the JIT warming up) cannot decide, and its limits sit far from where either
// kind of run lands: healthy tiers use a few % of a core and a loop idle most of the time, with delays
// a small share of what they measure; a saturated generator sits near a full core, a loop busy nearly
// all the time and delays as large as the latencies it reports. Repeating a run moves each signal by
// far less than the distance to its limit, so the verdict does not flip with the noise
// (scenarios/test/generator-verdict.test.ts shows both kinds at +-30 % noise).
import type { GeneratorHealth } from '../../reports/src/summary.ts'
import type { EngineResult, Tick } from '../engines/plan.ts'

export const GENERATOR_LIMITS = {
  /** Median CPU of the generator process per second, % of one core. */
  cpuPercent: 70,
  /** Median share of each second its event loop was busy. */
  loopUtilization: 0.8,
  /**
   * The generator's own delay (the larger of its median per-second p95 event-loop delay and its p95
   * send lag) as a share of the latency it measured at the tier's percentile: at half, the generator
   * could account for half of what it reports. Tail against tail: a delay that hits 1 % of the
   * requests (a shared machine descheduling the generator now and then) moves p99, not p95.
   */
  delayShare: 0.5,
  /** ... and at least this many ms (timers are 1 ms coarse). */
  delayFloorMs: 1,
} as const

export type GeneratorEvidence = Pick<
  EngineResult,
  | 'ticks'
  | 'cpu'
  | 'sendLagMs'
  | 'generatorLoad'
  | 'latencyAtTargetMs'
  | 'steadyRps'
  | 'intendedRps'
  | 'droppedIterations'
>

export type CapacityNote = { readonly near: boolean; readonly note: string } | null

const r2 = (value: number) => Math.round(value * 100) / 100

/** The seconds after the ramp-up, without the last one (partial, and the drain); all of them when none. */
export function steadyTicks(ticks: readonly Tick[], rampUpS: number): readonly Tick[] {
  const steady = ticks.slice(0, -1).filter((t) => t.t > rampUpS)
  return steady.length > 0 ? steady : ticks
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The generator's health and, when it may have been the limit, every reason why. */
export function judgeGenerator(
  result: GeneratorEvidence,
  rampUpS: number,
  percentile: number,
  capacity: CapacityNote = null,
): GeneratorHealth {
  const steady = steadyTicks(result.ticks, rampUpS)
  const cpu = median(steady.map((t) => t.cpu_percent))
  const utilization = median(
    steady.flatMap((t) => (t.loop_utilization === undefined ? [] : [t.loop_utilization])),
  )
  const loopDelay = median(
    steady.flatMap((t) => (t.loop_delay_p95_ms === undefined ? [] : [t.loop_delay_p95_ms])),
  )
  const reasons: string[] = []
  if (cpu !== undefined && cpu >= GENERATOR_LIMITS.cpuPercent)
    reasons.push(`its CPU was ${r2(cpu)} % of a core (median second; limit ${GENERATOR_LIMITS.cpuPercent} %)`)
  if (utilization !== undefined && utilization >= GENERATOR_LIMITS.loopUtilization)
    reasons.push(
      `its event loop was busy ${Math.round(utilization * 100)} % of the time (median second; limit ${GENERATOR_LIMITS.loopUtilization * 100} %): answers waited to be read`,
    )
  const delays = [
    ...(loopDelay !== undefined ? [{ what: 'event-loop delay (median second p95)', ms: loopDelay }] : []),
    ...(result.sendLagMs
      ? [{ what: 'send lag (p95)', ms: result.sendLagMs.p95 ?? result.sendLagMs.p99 }]
      : []),
  ]
  const worst = delays.reduce<{ what: string; ms: number } | null>(
    (a, b) => (a && a.ms >= b.ms ? a : b),
    null,
  )
  const measured = result.latencyAtTargetMs
  if (
    worst &&
    measured !== null &&
    worst.ms >= GENERATOR_LIMITS.delayFloorMs &&
    worst.ms >= GENERATOR_LIMITS.delayShare * measured
  ) {
    reasons.push(
      `its own ${worst.what} was ${r2(worst.ms)} ms, ${Math.round((worst.ms / measured) * 100)} % of the p${percentile} it measured (${measured} ms; limit ${GENERATOR_LIMITS.delayShare * 100} %)`,
    )
  }
  if (capacity?.near) reasons.push('it ran near the ceiling bench:generator measured')
  return generatorHealth(
    result,
    { eventLoopDelayMs: result.generatorLoad?.eventLoopDelayMs, utilization },
    reasons,
  )
}

/** A summary's generator section: its figures, and whether (and why) it may have been the limit. */
export function generatorHealth(
  result: Pick<EngineResult, 'intendedRps' | 'steadyRps' | 'cpu' | 'sendLagMs'>,
  load: {
    readonly eventLoopDelayMs?: { readonly p50: number; readonly p99: number; readonly max: number }
    readonly utilization?: number
  },
  reasons: readonly string[],
): GeneratorHealth {
  return {
    intended_rps: result.intendedRps,
    achieved_rps: result.steadyRps,
    cpu_percent_mean: result.cpu.mean,
    cpu_percent_max: result.cpu.max,
    ...(load.eventLoopDelayMs ? { event_loop_delay_ms: roundAll(load.eventLoopDelayMs) } : {}),
    ...(load.utilization !== undefined ? { event_loop_utilization: r2(Math.min(1, load.utilization)) } : {}),
    ...(result.sendLagMs ? { send_lag_ms: roundAll(result.sendLagMs) } : {}),
    limited: reasons.length > 0,
    ...(reasons.length > 0
      ? {
          reasons: [...reasons],
          note: `The generator may have been the limit: ${reasons.join('; ')}. Its numbers include its own delay, so the run is inconclusive: it neither passes nor fails the target.`,
        }
      : {}),
  }
}

function roundAll<T extends Record<string, number>>(values: T): T {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, r2(v)])) as T
}
