// The native engine: our own load generator on undici.
//
// Open model: arrivals at the tier's (ramping) rate, independent of how fast the target answers.
// Each request's latency is measured from its INTENDED send time, so a stalled target (or a late
// generator) shows up in full in the percentiles: coordinated omission is corrected by construction.
// At most `users` requests are in flight; an arrival that finds them all busy is dropped and counted
// (dropped_iterations), never silently delayed: it is a failed request whose latency is at least its
// wait for a free connection (recorder.ts).
//
// Closed model: `users` users, started evenly over the ramp-up, each sending a request, waiting for
// the answer, then thinking for a uniform time in think_time. Latency is measured from the actual send,
// as a client sees it (a closed loop cannot see a stall beyond its own request: use the open model).
import { Pool } from 'undici'
import { streamFor, uniformBetween } from '../random.ts'
import { createWorkload } from '../workload.ts'
import { createArrivals } from './arrivals.ts'
import { cpuMeter, loopMeter, packageVersion, Sleeper } from './gauges.ts'
import { encodeHistogram } from './hdr.ts'
import { type CallContext, call } from './http-call.ts'
import type { EngineHooks, EnginePlan, EngineResult } from './plan.ts'
import { Recorder } from './recorder.ts'
import { createStriping, segmentShare } from './segment.ts'
import { histogram, lagStats, recordMs } from './stats.ts'

export type NativeDeps = { readonly now?: () => number }

/** Up to this rate the open model times its sends to well under a millisecond (see openLoop). */
export const PRECISE_RPS = 500

export async function runNative(
  plan: EnginePlan,
  hooks: EngineHooks = {},
  deps: NativeDeps = {},
): Promise<EngineResult> {
  const timeoutMs = plan.requestTimeoutS * 1000
  // An execution segment runs the arrivals, users and requests of the schedule it owns (segment.ts).
  const striping = createStriping(plan.segment)
  const share = plan.segment ? segmentShare(plan.segment) : 1
  const users = Math.max(1, striping.count(plan.users))
  const targets = plan.targets && plan.targets.length > 0 ? plan.targets : [plan.targetUrl]
  const pools = targets.map(
    (target) =>
      new Pool(new URL(target).origin, {
        connections: users,
        pipelining: 1,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connectTimeout: Math.min(timeoutMs, 10_000),
        keepAliveTimeout: 30_000,
      }),
  )
  const clock = deps.now ?? (() => performance.now())
  const abort = new AbortController()
  const sleeper = new Sleeper()
  const state = { inFlight: 0, activeUsers: 0, stopping: false }
  const stop = () => {
    state.stopping = true
    sleeper.wakeAll()
    abort.abort()
  }
  hooks.signal?.addEventListener('abort', stop, { once: true })
  const startLagMs = plan.startAt === undefined ? undefined : await waitUntil(plan.startAt, sleeper)
  const t0 = clock()
  const now = () => clock() - t0
  const startedAt = new Date()
  const cpu = cpuMeter()
  const loop = loopMeter()
  const workload = createWorkload({
    mix: plan.mix,
    corpus: plan.corpus,
    seed: plan.seed,
    apiKey: plan.apiKey,
  })
  const contexts: CallContext[] = targets.map((target, i) => ({
    dispatcher: pools[i],
    pathPrefix: new URL(target).pathname.replace(/\/$/, ''),
    now,
    signal: abort.signal,
  }))
  const rampMs = plan.rampUpS * 1000
  const endMs = plan.durationS * 1000
  const recorder = new Recorder({
    bucketS: plan.bucketS,
    samplesPerBucket: plan.samplesPerBucket,
    random: streamFor(plan.seed, 'samples'),
    scenarios: plan.mix.filter((s) => s.weight > 0).map((s) => s.name),
    steadyWindowMs: { from: rampMs, to: endMs },
    gauges: () => ({
      activeUsers: plan.loadModel === 'open' ? state.inFlight : state.activeUsers,
      cpuPercent: cpu(),
      loop: loop.read(),
    }),
    onTick: hooks.onTick,
  })
  const ticker = setInterval(() => recorder.advance(now()), 100)
  const inFlight = new Set<Promise<void>>()
  const lag = histogram()

  /** Sends request `index` of the schedule, to target index mod n; its latency runs from `startMs`. */
  const fire = (startMs: number, index: number) => {
    state.inFlight++
    const spec = workload.request(index)
    const done = call(contexts[index % contexts.length], spec, startMs).then((outcome) => {
      state.inFlight--
      inFlight.delete(done)
      recorder.record(outcome)
      hooks.onOutcome?.(outcome)
    })
    inFlight.add(done)
    return done
  }

  try {
    if (plan.loadModel === 'open') await openLoop()
    else await closedLoop()
    // Drain: in-flight requests get drainS to finish; what is left is cut and counted as errors.
    const drained = Promise.all([...inFlight]).then(() => true)
    const timedOut = sleeper.sleep(plan.drainS * 1000).then(() => false)
    if (!(await Promise.race([drained, timedOut]))) abort.abort()
    await Promise.all([...inFlight])
  } finally {
    clearInterval(ticker)
    hooks.signal?.removeEventListener('abort', stop)
    sleeper.wakeAll()
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => {})))
  }
  const durationMs = now()
  recorder.finish(durationMs)
  const generatorLoad = loop.total()
  loop.stop()
  const steadySpanS = Math.max(0, Math.min(durationMs, endMs) - rampMs) / 1000
  const summary = recorder.summary(steadySpanS, plan.latencyPercentile)
  return {
    engine: 'native',
    engineVersion: `native (undici ${packageVersion('undici')})`,
    loadModel: plan.loadModel,
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    durationS: Math.round(durationMs) / 1000,
    ...summary,
    steadySpanS,
    generatorLoad: {
      eventLoopDelayMs: generatorLoad.delayMs,
      eventLoopUtilization: generatorLoad.utilization,
    },
    ...(plan.loadModel === 'open'
      ? {
          droppedIterations: recorder.dropped,
          sendLagMs: lagStats(lag),
          histograms: { ...summary.histograms, ...sendLag() },
        }
      : {}),
    ...(startLagMs === undefined ? {} : { startLagMs: Math.round(startLagMs * 100) / 100 }),
    // The rate the open model aims at after its ramp-up (the arrival count over the run includes the ramp).
    intendedRps: plan.rps * share,
    notes: [],
  }

  function sendLag(): { send_lag?: string } {
    const encoded = encodeHistogram(lag)
    return encoded ? { send_lag: encoded } : {}
  }

  async function openLoop(): Promise<void> {
    const arrivals = createArrivals({
      rps: plan.rps,
      rampUpS: plan.rampUpS,
      durationS: plan.durationS,
      process: plan.arrival,
      random: streamFor(plan.seed, 'arrivals'),
    })
    const precise = plan.rps * share <= PRECISE_RPS
    // Arrival `index` of the whole schedule, the next this segment owns; the others are passed over.
    let index = -1
    const nextOwned = (): number | null => {
      for (;;) {
        const at = arrivals.next()
        index++
        if (at === null || striping.owns(index)) return at
      }
    }
    let next = nextOwned()
    while (next !== null && !state.stopping) {
      // Timers have 1 ms granularity and fire up to 1 ms early or late. Up to PRECISE_RPS, sleep to
      // about the due time, then yield to I/O (setImmediate) through the last millisecond: sends leave
      // on time instead of ~0.7 ms late, for ~10 % of a core at 200 req/s. Above it, arrivals are under
      // 2 ms apart and spinning would starve the I/O it waits for: timers only. Either way the lateness
      // left is measured (send lag) and counted in the latency.
      const wait = next - now()
      if (wait > 1 || (wait > 0 && !precise))
        await sleeper.sleep(precise ? Math.floor(wait) : Math.ceil(wait))
      else if (wait > 0) await new Promise((resolve) => setImmediate(resolve))
      const at = now()
      // Send everything that is due; a late generator sends late but measures from the intended time.
      while (next !== null && next <= at && !state.stopping) {
        if (state.inFlight >= users) recorder.drop(next)
        else {
          recordMs(lag, at - next)
          fire(next, index)
        }
        next = nextOwned()
      }
    }
  }

  async function closedLoop(): Promise<void> {
    // A segment runs its users (user u starts at u / users of the ramp-up, as in the whole run) and
    // the requests and think times of the sequence it owns, in turn.
    const think = streamFor(plan.seed, 'think')
    let thought = 0
    let request = -1
    const nextPause = () => {
      const owned = striping.next(thought)
      for (; thought < owned; thought++) think()
      thought++
      return plan.thinkTimeS ? uniformBetween(think, plan.thinkTimeS.min, plan.thinkTimeS.max) * 1000 : 0
    }
    const user = async (u: number) => {
      await sleeper.sleep((u * rampMs) / plan.users)
      if (state.stopping || now() >= endMs) return
      state.activeUsers++
      while (!state.stopping && now() < endMs) {
        request = striping.next(request + 1)
        await fire(now(), request)
        const pauseMs = nextPause()
        if (pauseMs > 0) await sleeper.sleep(Math.min(pauseMs, endMs - now()))
      }
      state.activeUsers--
    }
    const mine = Array.from({ length: plan.users }, (_, u) => u).filter((u) => striping.owns(u))
    await Promise.all(mine.map(user))
  }
}

/** Waits until the wall clock reaches `atMs` (epoch ms; sub-millisecond); returns how late it is then. */
async function waitUntil(atMs: number, sleeper: Sleeper): Promise<number> {
  const wall = () => performance.timeOrigin + performance.now()
  for (let left = atMs - wall(); left > 2; left = atMs - wall()) await sleeper.sleep(Math.min(left - 1, 1000))
  while (wall() < atMs && !sleeper.woken) await new Promise((resolve) => setImmediate(resolve))
  return Math.max(0, wall() - atMs)
}
