import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startAll } from '../../proxy/test/helpers.ts'
import { GcWatch, gcTally, parseGcTally } from '../bench/gc-tally.ts'

// The benchmarks read the proxy's garbage collection from its /metrics/prometheus (prom-client's
// default metrics): here a real proxy in this process, whose collections this test's garbage causes.

let proxy: Harness

/** Young garbage enough for several young collections (a few MB of short-lived objects). */
async function litter(): Promise<void> {
  let keep = 0
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 50_000; i++) keep += [i, { i }, `${i}`].length
    await new Promise((resolve) => setImmediate(resolve))
  }
  // prom-client counts a collection when node's PerformanceObserver reports it (asynchronously).
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(keep).toBeGreaterThan(0)
}

beforeAll(async () => {
  proxy = await startAll()
})

afterAll(() => proxy?.close())

describe('gc tally', () => {
  it("reads young collections from the proxy's metrics", async () => {
    const before = await gcTally(proxy.url)
    await litter()
    const after = await gcTally(proxy.url)
    expect(after.minor.count).toBeGreaterThan(before.minor.count)
    expect(after.minor.seconds).toBeGreaterThan(before.minor.seconds)
  })

  it('reads every kind, and zero for a kind not yet seen', () => {
    const text = [
      '# TYPE nodejs_gc_duration_seconds histogram',
      'nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 3',
      'nodejs_gc_duration_seconds_sum{kind="minor"} 0.0042',
      'nodejs_gc_duration_seconds_count{kind="minor"} 4',
      'nodejs_gc_duration_seconds_sum{kind="major"} 0.011',
      'nodejs_gc_duration_seconds_count{kind="major"} 1',
    ].join('\n')
    expect(parseGcTally(text)).toEqual({
      minor: { count: 4, seconds: 0.0042 },
      major: { count: 1, seconds: 0.011 },
      incremental: { count: 0, seconds: 0 },
    })
  })

  it("counts only the measured runs' collections, over their seconds and requests", async () => {
    const watch = new GcWatch(proxy.url)
    expect(watch.line('proxy')).toBeUndefined()
    await litter() // between runs: not counted
    const inside = await gcTally(proxy.url)
    const value = await watch.measure(2, 100, async () => {
      await litter()
      return 'done'
    })
    const outside = await gcTally(proxy.url)
    expect(value).toBe('done')
    const { minor, seconds, requests } = watch.result
    expect(minor.count).toBeGreaterThan(0)
    expect(minor.count).toBeLessThanOrEqual(outside.minor.count - inside.minor.count)
    expect(seconds).toBe(2)
    expect(requests).toBe(200)
    await watch.measure(1, 100, () => litter())
    expect(watch.result.seconds).toBe(3)
    expect(watch.result.minor.count).toBeGreaterThan(minor.count)
    expect(watch.line('proxy')).toMatch(
      /^proxy: garbage collection \(its \/metrics\/prometheus\) over 3 s of load, about 300 requests: \d+ young collections \(\d+\.\d\d ms each\), \d+ full/,
    )
  })
})
