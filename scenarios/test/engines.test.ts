// The same short tier through both engines against a server that always answers in 100 ms: each
// engine's median must read 100 ms within 3 ms, and both must produce a valid summary.json.
//
// Timing on a shared machine: other processes (the rest of the suite runs in parallel) can only ever
// ADD delay (a late wake-up), never remove it, so the fair reading of "the engine measures 100 ms" is
// the best of up to five attempts, spread over time so that a burst of other work passes; an engine
// that adds or loses 3 ms by itself fails every attempt. No attempt may read below 97 ms.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseSummary } from '../../reports/src/summary.ts'
import { runEngine } from '../engines/engine-process.ts'
import type { EngineName, EngineResult } from '../engines/plan.ts'
import { collectEnvironment } from '../run/environment.ts'
import { buildSummary } from '../run/summary-build.ts'
import { getTier, parseTiers } from '../tiers.ts'
import { childServer, fixedLatencyServer, plan, type TestServer } from './servers.ts'

const TIER = getTier(
  parseTiers(`
tiers:
  agreement:
    users: 10
    duration: 4s
    expected_rps: 50
    latency: { percentile: 95, max_ms: 150 }
    error_rate_max: 0.01
    think_time: { min: 0.15, max: 0.25 }
    scenarios: [{ name: models, weight: 1 }]
`),
  'agreement',
)
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
    '%s reads a 100 ms server as p50 within 3 ms of 100 ms, and writes a valid summary',
    async (engine) => {
      const medians: number[] = []
      let result: EngineResult | undefined
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        result = await runEngine(
          plan({
            engine,
            targetUrl: server.url,
            users: TIER.users,
            rps: TIER.expectedRps,
            durationS: TIER.durationS,
            mix: TIER.scenarios,
            seed: attempt + 1,
          }),
        )
        expect(result.errors).toBe(0)
        expect(result.requests).toBeGreaterThanOrEqual(150)
        medians.push(result.latency_ms!.p50)
        if (Math.abs(result.latency_ms!.p50 - 100) <= 3) break
        await new Promise((resolve) => setTimeout(resolve, 2000))
      }
      expect(Math.min(...medians)).toBeGreaterThanOrEqual(97)
      expect(Math.min(...medians) - 100, `p50 of each attempt: ${medians.join(', ')} ms`).toBeLessThanOrEqual(
        3,
      )

      const now = new Date()
      const summary = buildSummary({
        runId: `test-${engine}`,
        tier: TIER,
        durationScale: 1,
        engine,
        loadModel: result!.loadModel,
        seed: 1,
        targetUrl: server.url,
        mockProfile: null,
        command: 'vitest',
        startedAt: new Date(now.getTime() - result!.durationS * 1000),
        endedAt: now,
        environment: collectEnvironment(process.cwd()),
        sharedHost: true,
        result: result!,
        mix: TIER.scenarios,
        skipped: new Map(),
        broken: null,
        capacity: null,
      })
      expect(parseSummary(JSON.parse(JSON.stringify(summary)))).toMatchObject({
        status: 'passed',
        run: { engine },
      })
    },
    90_000,
  )
})

// Coordinated omission: a target that stalls for 1 s in the middle of an open-model run at a fixed
// rate. The requests that arrived during the stall waited for it, and the reported p99 must say so.
// A naive closed loop (one user, back to back) against the same stall sees it once: a small p99.
// (Both timing tests share this file so that they never run at the same time as each other.)
type Server = Awaited<ReturnType<typeof childServer>>

async function stallAfter(server: Server, afterMs: number, forMs: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, afterMs))
  server.child.kill('SIGSTOP')
  await new Promise((resolve) => setTimeout(resolve, forMs))
  server.child.kill('SIGCONT')
}

describe('coordinated omission', () => {
  let server: Server | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  it('open model: p99 includes a 1 s stall and the time series shows it', async () => {
    server = await childServer()
    const run = runEngine(plan({ targetUrl: server.url, rps: 100, users: 500, durationS: 6 }))
    const stall = stallAfter(server, 2500, 1000)
    const [result] = await Promise.all([run, stall])
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

  it('a naive closed loop against the same stall reports a p99 that hides it', async () => {
    server = await childServer()
    const run = runEngine(plan({ targetUrl: server.url, loadModel: 'closed', users: 1, durationS: 6 }))
    const stall = stallAfter(server, 2500, 1000)
    const [result] = await Promise.all([run, stall])
    expect(result.errors).toBe(0)
    expect(result.latency_ms!.max).toBeGreaterThanOrEqual(900) // it did wait once...
    expect(result.latency_ms!.p99).toBeLessThan(100) // ...and the percentiles forget it
  }, 30_000)
})
