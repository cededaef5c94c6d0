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
import { type CallContext, call } from './http-call.ts'
import type { EngineHooks, EnginePlan, EngineResult } from './plan.ts'
import { Recorder } from './recorder.ts'
import { histogram, recordMs } from './stats.ts'

export type NativeDeps = { readonly now?: () => number }

/** Up to this rate the open model times its sends to well under a millisecond (see openLoop). */
export const PRECISE_RPS = 500

export async function runNative(
  plan: EnginePlan,
  hooks: EngineHooks = {},
  deps: NativeDeps = {},
): Promise<EngineResult> {
  const url = new URL(plan.targetUrl)
  const timeoutMs = plan.requestTimeoutS * 1000
  const pool = new Pool(url.origin, {
    connections: plan.users,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 10_000),
    keepAliveTimeout: 30_000,
  })
  const clock = deps.now ?? (() => performance.now())
  const t0 = clock()
  const now = () => clock() - t0
  const startedAt = new Date()
  const abort = new AbortController()
  const sleeper = new Sleeper()
  const cpu = cpuMeter()
  const loop = loopMeter()
  const workload = createWorkload({
    mix: plan.mix,
    corpus: plan.corpus,
    seed: plan.seed,
    apiKey: plan.apiKey,
  })
  const ctx: CallContext = {
    dispatcher: pool,
    pathPrefix: url.pathname.replace(/\/$/, ''),
    now,
    signal: abort.signal,
  }
  const state = { inFlight: 0, activeUsers: 0, stopping: false }
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

  const fire = (startMs: number) => {
    state.inFlight++
    const spec = workload.next()
    const done = call(ctx, spec, startMs).then((outcome) => {
      state.inFlight--
      inFlight.delete(done)
      recorder.record(outcome)
      hooks.onOutcome?.(outcome)
    })
    inFlight.add(done)
    return done
  }

  const stop = () => {
    state.stopping = true
    sleeper.wakeAll()
    abort.abort()
  }
  hooks.signal?.addEventListener('abort', stop, { once: true })

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
    await pool.destroy().catch(() => {})
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
          sendLagMs: lagStats(),
        }
      : {}),
    // The rate the open model aims at after its ramp-up (the arrival count over the run includes the ramp).
    intendedRps: plan.rps,
    notes: [],
  }

  function lagStats() {
    if (lag.totalCount === 0) return { p50: 0, p95: 0, p99: 0, max: 0 }
    const max = lag.maxValue / 1000
    const p99 = Math.min(max, lag.getValueAtPercentile(99) / 1000)
    const p95 = Math.min(p99, lag.getValueAtPercentile(95) / 1000)
    return { p50: Math.min(p95, lag.getValueAtPercentile(50) / 1000), p95, p99, max }
  }

  async function openLoop(): Promise<void> {
    const arrivals = createArrivals({
      rps: plan.rps,
      rampUpS: plan.rampUpS,
      durationS: plan.durationS,
      process: plan.arrival,
      random: streamFor(plan.seed, 'arrivals'),
    })
    const precise = plan.rps <= PRECISE_RPS
    let next = arrivals.next()
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
        if (state.inFlight >= plan.users) recorder.drop(next)
        else {
          recordMs(lag, at - next)
          fire(next)
        }
        next = arrivals.next()
      }
    }
  }

  async function closedLoop(): Promise<void> {
    const think = streamFor(plan.seed, 'think')
    const user = async (index: number) => {
      await sleeper.sleep((index * rampMs) / plan.users)
      if (state.stopping || now() >= endMs) return
      state.activeUsers++
      while (!state.stopping && now() < endMs) {
        await fire(now())
        const pauseMs = plan.thinkTimeS
          ? uniformBetween(think, plan.thinkTimeS.min, plan.thinkTimeS.max) * 1000
          : 0
        if (pauseMs > 0) await sleeper.sleep(Math.min(pauseMs, endMs - now()))
      }
      state.activeUsers--
    }
    await Promise.all(Array.from({ length: plan.users }, (_, i) => user(i)))
  }
}
