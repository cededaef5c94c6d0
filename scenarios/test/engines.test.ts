// The same short tier through both engines against a server that always answers in 100 ms: each
// engine's median must read what a bare client reads from the same server just before it (100 ms plus
// this machine's round trip) within 3 ms, and both must produce a valid summary.json.
//
// Timing on a shared machine: other processes (the rest of the suite runs in parallel) can only ever
// ADD delay (a late wake-up), never remove it, so the fair reading of "the engine measures 100 ms" is
// the best of up to five attempts, spread over time so that a burst of other work passes; an engine
// that adds or loses 3 ms by itself fails every attempt. No attempt may read below 97 ms. The round
// trip itself is the machine's: 1 ms on one, 3.5 to 4 ms on another at this rate (an idle core's
// wake-up at each hop), which a fixed 100 + 3 ms read as the engine's own error.
import { Pool } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseSummary } from '../../reports/src/summary.ts'
import { runEngine } from '../engines/engine-process.ts'
import { runNative } from '../engines/native.ts'
import type { EngineName, EnginePlan, EngineResult } from '../engines/plan.ts'
import { collectEnvironment } from '../run/environment.ts'
import { exitCodeOf } from '../run/runner.ts'
import { buildSummary } from '../run/summary-build.ts'
import { getTier, parseTiers, type Tier } from '../tiers.ts'
import { childServer, fixedLatencyServer, plan, type TestServer } from './servers.ts'

/** A tier of GET /v1/models (the test servers answer anything). */
function testTier(
  name: string,
  t: { users: number; duration: string; rps: number; maxMs: number; errors: number },
) {
  const yaml = `tiers:\n  ${name}:\n    users: ${t.users}\n    duration: ${t.duration}\n    expected_rps: ${t.rps}\n    latency: { percentile: 95, max_ms: ${t.maxMs} }\n    error_rate_max: ${t.errors}\n    think_time: { min: 0, max: 0 }\n    scenarios: [{ name: models, weight: 1 }]\n`
  return getTier(parseTiers(yaml), name)
}

const TIER = testTier('agreement', { users: 10, duration: '4s', rps: 50, maxMs: 150, errors: 0.01 })
/**
 * The native engine's in-flight cap: 25 for 5 requests in flight on average, so that a server late by
 * up to 400 ms on a busy machine still finds a free connection (an arrival that finds none is dropped,
 * and a dropped arrival is an error). autocannon keeps 10 connections: more would send bigger bursts.
 */
const USERS: Record<EngineName, number> = { native: 25, autocannon: TIER.users }
const ATTEMPTS = 5

describe('engine agreement', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await fixedLatencyServer(100)
  })
  afterAll(async () => {
    await server.close()
  })

  it.each<EngineName>(['native', 'autocannon'])(
    '%s reads a 100 ms server as p50 within 3 ms of a bare client, and writes a valid summary',
    async (engine) => {
      const medians: number[] = []
      const references: number[] = []
      let result: EngineResult | undefined
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const reference = await bareClientP50(server.url, TIER.expectedRps, 2)
        references.push(reference)
        result = await runEngine(
          plan({
            engine,
            targetUrl: server.url,
            users: USERS[engine],
            rps: TIER.expectedRps,
            durationS: TIER.durationS,
            mix: TIER.scenarios,
            seed: attempt + 1,
          }),
        )
        expect(result.errors).toBe(0)
        expect(result.requests).toBeGreaterThanOrEqual(150)
        medians.push(result.latency_ms!.p50)
        if (Math.abs(result.latency_ms!.p50 - reference) <= 3) break
        await new Promise((resolve) => setTimeout(resolve, 2000))
      }
      expect(Math.min(...medians)).toBeGreaterThanOrEqual(97)
      const off = medians.map((m, i) => Math.abs(m - references[i]))
      const shown = medians.map((m, i) => `${m} (bare client ${references[i].toFixed(2)})`).join(', ')
      expect(Math.min(...off), `p50 of each attempt: ${shown} ms`).toBeLessThanOrEqual(3)

      // The throughput baseline divides by the engine's own window after the ramp-up: autocannon's
      // start-up, its stop and the requests it drops at the end cost it nothing (they used to take 8 %
      // of the 10 % tolerance, and a busy machine the rest: a 'failed' run against a fine target).
      expect(result!.steadyRps).toBeGreaterThanOrEqual(TIER.expectedRps * TIER.rpsTolerance)
      const summary = summaryOf(TIER, engine, result!, server.url)
      expect(parseSummary(JSON.parse(JSON.stringify(summary)))).toMatchObject({
        status: 'passed',
        run: { engine },
        generator: { limited: false },
      })
    },
    90_000,
  )
})

/**
 * The p50 a bare undici client reads from `url` at `rps` for `seconds` (GET /v1/models, from each
 * request's send to its last byte): the server's time plus this machine's round trip.
 */
async function bareClientP50(url: string, rps: number, seconds: number): Promise<number> {
  const pool = new Pool(url, { connections: 10 })
  const latencies: number[] = []
  const calls: Promise<void>[] = []
  const start = performance.now()
  for (let i = 0; i < rps * seconds; i++) {
    const wait = start + (i * 1000) / rps - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    calls.push(
      (async () => {
        const sent = performance.now()
        const { body } = await pool.request({ path: '/v1/models', method: 'GET' })
        await body.dump()
        latencies.push(performance.now() - sent)
      })(),
    )
  }
  await Promise.all(calls)
  await pool.close()
  latencies.sort((a, b) => a - b)
  return latencies[Math.floor(latencies.length / 2)]
}

function summaryOf(tier: Tier, engine: EngineName, result: EngineResult, targetUrl: string) {
  const now = new Date()
  return buildSummary({
    runId: `test-${engine}`,
    tier,
    durationScale: 1,
    engine,
    loadModel: result.loadModel,
    seed: 1,
    targetUrl,
    mockProfile: null,
    command: 'vitest',
    startedAt: new Date(now.getTime() - result.durationS * 1000),
    endedAt: now,
    environment: collectEnvironment(process.cwd()),
    sharedHost: true,
    result,
    mix: tier.scenarios,
    skipped: new Map(),
    broken: null,
    capacity: null,
  })
}

const STALL_TIER = testTier('stall', { users: 10, duration: '6s', rps: 100, maxMs: 150, errors: 0.01 })

// Coordinated omission: a target that stalls for 1 s in the middle of an open-model run at a fixed
// rate. The requests that arrived during the stall waited for it, and the reported p99 must say so.
// A naive closed loop (one user, back to back) against the same stall sees it once: a small p99.
// (Both timing tests share this file so that they never run at the same time as each other.)
type Server = Awaited<ReturnType<typeof childServer>>

/** Starts a server in its own process for a test; it is closed after the test, whatever happened. */
function childServerPerTest(options: Parameters<typeof childServer>[0] = {}): () => Promise<Server> {
  let server: Server | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })
  return async () => {
    server = await childServer(options)
    return server
  }
}

async function stallAfter(server: Server, afterMs: number, forMs: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, afterMs))
  server.child.kill('SIGSTOP')
  await new Promise((resolve) => setTimeout(resolve, forMs))
  server.child.kill('SIGCONT')
}

/**
 * Runs the plan and stalls the server for 1 s from 2.5 s on the engine's clock: 1.5 s after its first
 * tick (at 1 s), not after the fork, which a busy machine can delay by a second or more.
 */
async function runWithStall(server: Server, enginePlan: EnginePlan): Promise<EngineResult> {
  let stall: Promise<void> | undefined
  const result = await runEngine(enginePlan, {
    onTick: () => {
      stall ??= stallAfter(server, 1500, 1000)
    },
  })
  await stall
  return result
}

describe('coordinated omission', () => {
  const start = childServerPerTest()

  it('open model: p99 includes a 1 s stall and the time series shows it', async () => {
    const server = await start()
    const result = await runWithStall(
      server,
      plan({ targetUrl: server.url, rps: 100, users: 500, durationS: 6 }),
    )
    expect(result.errors).toBe(0)
    expect(result.droppedIterations).toBe(0)
    expect(result.requests).toBeGreaterThanOrEqual(590)
    expect(result.latency_ms!.p99).toBeGreaterThanOrEqual(900)
    expect(result.latency_ms!.max).toBeGreaterThanOrEqual(950)
    const worst = Math.max(...result.ticks.map((t) => t.p99_ms ?? 0))
    expect(worst).toBeGreaterThanOrEqual(900)
    // The stalled bucket is in the middle of the run, not at its edges.
    const stalled = result.ticks.find((t) => (t.p99_ms ?? 0) >= 900)!
    expect(stalled.t).toBeGreaterThanOrEqual(3)
    expect(stalled.t).toBeLessThanOrEqual(5)
  }, 30_000)

  it('open model with a small in-flight cap: arrivals dropped during the stall fail the run and show in p99', async () => {
    const server = await start()
    const result = await runWithStall(
      server,
      plan({ targetUrl: server.url, rps: 100, users: 10, durationS: 6 }),
    )
    // Ten requests are stuck in the stall; the arrivals after them find no free connection.
    expect(result.droppedIterations).toBeGreaterThanOrEqual(50)
    expect(result.errorsByKind).toEqual({ dropped: result.droppedIterations })
    expect(result.errors).toBe(result.droppedIterations)
    // Each waited (at least) until the stall ended: p99 reads the stall, not the 10 lucky requests.
    expect(result.latency_ms!.p95).toBeGreaterThanOrEqual(300)
    expect(result.latency_ms!.p99).toBeGreaterThanOrEqual(800)
    const dropping = result.ticks.filter((t) => t.dropped > 0)
    expect(dropping.reduce((sum, t) => sum + t.dropped, 0)).toBe(result.droppedIterations)
    // When: in the seconds of the stall (a busy machine may add a few elsewhere).
    const inStall = dropping.filter((t) => t.t >= 3 && t.t <= 5).reduce((sum, t) => sum + t.dropped, 0)
    expect(inStall).toBeGreaterThanOrEqual(0.8 * (result.droppedIterations ?? 0))
    const summary = parseSummary(summaryOf(STALL_TIER, 'native', result, server.url))
    expect(summary.status).toBe('failed')
    expect(summary.baselines.filter((b) => !b.passed).map((b) => b.metric)).toEqual(
      expect.arrayContaining(['latency_p95_ms', 'error_rate']),
    )
    expect(summary.timeseries?.points.some((p) => (p.dropped ?? 0) > 0)).toBe(true)
  }, 30_000)

  it('a naive closed loop against the same stall reports a p99 that hides it', async () => {
    const server = await start()
    const result = await runWithStall(
      server,
      plan({ targetUrl: server.url, loadModel: 'closed', users: 1, durationS: 6 }),
    )
    expect(result.errors).toBe(0)
    expect(result.latency_ms!.max).toBeGreaterThanOrEqual(900) // it did wait once...
    expect(result.latency_ms!.p99).toBeLessThan(100) // ...and the percentiles forget it
  }, 30_000)
})

// A generator at its limit: whatever it measures includes its own delay, so the run is inconclusive
// (exit 3), neither passed nor blamed on the target. Each case saturates the generator by construction,
// whatever the machine: streams of 64 chunks from a server that only replays a prepared buffer (each
// chunk costs the engine a parse, the server nothing), at a rate no core sends, or through autocannon
// without a rate limit; or a loop blocked 40 ms in every 50. (In this file, so that they never run
// beside the timing tests above.)
describe('a generator at its limit', () => {
  const start = childServerPerTest({ sseChunks: 64 })
  const streams = [{ name: 'chat-stream', weight: 1 }] as const

  const FAST_TIER = testTier('fast', { users: 64, duration: '3s', rps: 200_000, maxMs: 1000, errors: 1 })

  function judged(result: EngineResult, engine: EngineName, url: string) {
    const summary = parseSummary(summaryOf(FAST_TIER, engine, result, url))
    return { summary, exitCode: exitCodeOf(summary.status) }
  }

  it('native open model at a rate far above one core, against a server that replays one stream: inconclusive, exit 3', async () => {
    const server = await start()
    const result = await runEngine(
      plan({ targetUrl: server.url, rps: 200_000, users: 64, durationS: 3, mix: streams }),
    )
    const { summary, exitCode } = judged(result, 'native', server.url)
    expect(summary.generator?.limited).toBe(true)
    expect(summary.generator?.reasons?.join(' ')).toMatch(/event loop was busy/)
    expect(summary.status).toBe('inconclusive')
    expect(exitCode).toBe(3)
  }, 30_000)

  // autocannon is the limit only while its server gets the CPU to keep it fed: on a machine whose
  // other work starves the server, the run is rightly not blamed on the generator. Retried for that.
  it('autocannon without a rate limit, its CPU on parsing streams: inconclusive', { retry: 2 }, async () => {
    const server = await start()
    const result = await runEngine(
      plan({ engine: 'autocannon', targetUrl: server.url, rps: 0, users: 64, durationS: 3, mix: streams }),
    )
    const { summary } = judged(result, 'autocannon', server.url)
    expect(summary.generator?.limited).toBe(true)
    // Its event loop busy, or its CPU past the limit: either says it was the limit (which one a
    // machine shows first depends on its speed: a slower core showed 71 to 74 % CPU, loop under).
    expect(summary.generator?.reasons?.join(' ')).toMatch(/event loop was busy|its CPU was/)
    expect(summary.status).toBe('inconclusive')
  })

  it('a generator whose event loop is blocked 40 ms in every 50: inconclusive', async () => {
    const server = await start()
    const hog = setInterval(() => {
      const until = performance.now() + 40
      while (performance.now() < until) {
        // a synchronous hog on the generator's own event loop
      }
    }, 10)
    let result: EngineResult
    try {
      result = await runNative(plan({ targetUrl: server.url, rps: 100, users: 50, durationS: 3 }))
    } finally {
      clearInterval(hog)
    }
    const { summary } = judged(result, 'native', server.url)
    expect(summary.generator?.limited).toBe(true)
    expect(summary.generator?.reasons?.join(' ')).toMatch(/event loop was busy/)
    expect(summary.status).toBe('inconclusive')
  }, 30_000)
})

// autocannon stops when its duration ends and drops what is still in flight without a word.
describe('autocannon at the end of its run', () => {
  const start = childServerPerTest()

  it('counts the requests still in flight when it stops, and how long they had waited', async () => {
    const server = await start()
    const run = runEngine(
      plan({ engine: 'autocannon', targetUrl: server.url, rps: 20, users: 4, durationS: 3 }),
    )
    // The target stalls for the last 1.5 s: every connection is waiting when autocannon stops.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    server.child.kill('SIGSTOP')
    const result = await run
    server.child.kill('SIGCONT')
    expect(result.inFlightAtEnd?.count).toBe(4)
    expect(result.inFlightAtEnd?.oldestMs).toBeGreaterThanOrEqual(800)
    const summary = parseSummary(summaryOf(TIER, 'autocannon', result, server.url))
    expect(summary.totals.in_flight_at_end).toMatchObject({ count: 4 })
    expect(summary.environment.generator_notes).toContainEqual(
      expect.stringMatching(/^autocannon: 4 requests were still in flight when it stopped/),
    )
  }, 30_000)
})
