import { describe, expect, it } from 'vitest'
import { Cancel } from '../src/cancel.ts'
import { UpstreamFailure } from '../src/resilience/failure.ts'
import { type LimiterSettings, ProviderLimiter } from '../src/resilience/limiter.ts'
import { FakeClock } from './fake-clock.ts'

const settings: LimiterSettings = {
  maxConcurrency: 4,
  minConcurrency: 1,
  queueSize: 2,
  queueTimeoutMs: 500,
  adaptive: true,
  throttleRatio: 0.5,
  windowMs: 10_000,
}

function limiter(over: Partial<LimiterSettings> = {}) {
  const clock = new FakeClock()
  // Queue timeouts never fire on their own here: time moves only when a test says so.
  clock.sleep = () => new Promise(() => {})
  // Nor does the end of the event loop's turn: `afterIo` runs what waits for it.
  const turnEnds: (() => void)[] = []
  const afterIo = () => {
    for (const run of turnEnds.splice(0)) run()
  }
  const l = new ProviderLimiter({ ...settings, ...over }, clock, (run) => turnEnds.push(run))
  return { clock, limiter: l, afterIo }
}

const never = new Cancel()
const DAY = 86_400_000
/** Two slots, room to wait, and a caller may be predicted to wait up to 500 ms. */
const TWO_SLOTS = { maxConcurrency: 2, queueSize: 100, queueTimeoutMs: 1000 }

describe('provider limiter', () => {
  it('admits up to the limit, then queues, then refuses at once with overloaded and a Retry-After', () => {
    const { clock, limiter: l } = limiter()
    for (let i = 0; i < 4; i++) expect(l.tryAcquire()).toBe(true)
    clock.advance(25)
    l.release('ok', 25) // a slot frees every 25 ms
    expect(l.tryAcquire()).toBe(true)
    const queued = [
      l.acquire(clock.monotonic() + 10_000, never),
      l.acquire(clock.monotonic() + 10_000, never),
    ]
    for (const q of queued) expect(q).toBeInstanceOf(Promise)
    const refused = l.acquire(clock.monotonic() + 10_000, never)
    expect(refused).toBeInstanceOf(UpstreamFailure)
    expect(refused).toMatchObject({ kind: 'overloaded', failover: true, countsAsFailure: false })
    expect((refused as UpstreamFailure).retryAfterMs).toBeGreaterThanOrEqual(1000)
    expect(l.snapshot()).toMatchObject({ in_flight: 4, queued: 2, refused_total: 1 })
  })

  it('hands a freed slot to the first waiter', async () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 1 })
    expect(l.tryAcquire()).toBe(true)
    const waiting = l.acquire(clock.monotonic() + 10_000, never) as Promise<UpstreamFailure | undefined>
    l.release('ok', 10)
    await expect(waiting).resolves.toBeUndefined()
    expect(l.inFlight).toBe(1)
  })

  it('refuses within the turn when no slot has freed for longer than the wait allows (calls slowing down)', async () => {
    const { clock, limiter: l, afterIo } = limiter(TWO_SLOTS)
    expect(l.tryAcquire() && l.tryAcquire()).toBe(true)
    const first = l.acquire(clock.monotonic() + 10_000, never)
    afterIo()
    clock.advance(300) // nothing has finished for 300 ms: the next place in the queue would wait 600 ms
    const second = l.acquire(clock.monotonic() + 10_000, never)
    afterIo()
    await expect(second).resolves.toMatchObject({ kind: 'overloaded' })
    // The caller let in before stays in the queue: it is never shed late.
    expect(l.snapshot()).toMatchObject({ queued: 1, waited_total: 1, refused_total: 1 })
    l.release('ok', 300)
    await expect(first).resolves.toBeUndefined()
  })

  it('serves instead of refusing when the slots free in the same turn (answers that waited, unread, while the proxy paused)', async () => {
    const { clock, limiter: l, afterIo } = limiter(TWO_SLOTS)
    expect(l.tryAcquire() && l.tryAcquire()).toBe(true)
    // The proxy did not run for 600 ms (more than the 500 ms a caller may be predicted to wait); both
    // answers came meanwhile, and are read in the same turn as the callers.
    clock.advance(600)
    const waiting = [0, 1].map(() => l.acquire(clock.monotonic() + 10_000, never))
    l.release('ok', 600)
    l.release('ok', 600)
    afterIo()
    for (const w of waiting) await expect(w).resolves.toBeUndefined()
    expect(l.snapshot()).toMatchObject({ in_flight: 2, queued: 0, waited_total: 2, refused_total: 0 })
  })

  it('predicts from the calls in flight, not from the gap of an earlier spell of saturation', async () => {
    const { clock, limiter: l, afterIo } = limiter(TWO_SLOTS)
    // A slow spell: both slots taken, one freed after 400 ms.
    expect(l.tryAcquire() && l.tryAcquire()).toBe(true)
    clock.advance(400)
    l.release('ok', 400)
    l.release('ok', 400)
    expect(l.snapshot()).toMatchObject({ slot_gap_ms: 400 })
    // Then a long run of 2 ms calls that never fill the pool.
    for (let i = 0; i < 60; i++) {
      expect(l.tryAcquire()).toBe(true)
      clock.advance(2)
      l.release('ok', 2)
    }
    // A burst fills it: the slots free about every 1.5 ms (typical call over two slots), not 400.
    expect(l.tryAcquire() && l.tryAcquire()).toBe(true)
    const waiting = [0, 1, 2].map(() => l.acquire(clock.monotonic() + 10_000, never))
    afterIo()
    expect(l.snapshot()).toMatchObject({ queued: 3, refused_total: 0 })
    clock.advance(2)
    for (let i = 0; i < 5; i++) l.release('ok', 2)
    for (const w of waiting) await expect(w).resolves.toBeUndefined()
  })

  it('refuses within the turn when the predicted wait exceeds the request deadline', async () => {
    const { clock, limiter: l, afterIo } = limiter({ maxConcurrency: 1, queueSize: 100 })
    expect(l.tryAcquire()).toBe(true)
    clock.advance(400)
    l.release('ok', 400)
    expect(l.tryAcquire()).toBe(true)
    // A slot frees about every 400 ms: a deadline 100 ms away cannot be met.
    const refused = l.acquire(clock.monotonic() + 100, never)
    afterIo()
    await expect(refused).resolves.toMatchObject({ kind: 'overloaded' })
  })

  it('a stray 429 trims the concurrency limit by 10 %, and successes at high use raise it back', () => {
    const { limiter: l } = limiter({ maxConcurrency: 100 })
    l.tryAcquire()
    l.release('throttled', 10, 2000)
    expect(l.snapshot().limit).toBe(90)
    expect(l.throttling).toBe(false)
    for (let i = 0; i < 60; i++) l.tryAcquire()
    for (let i = 0; i < 60; i++) l.release('ok', 10)
    expect(l.snapshot().limit).toBe(100)
  })

  it('gives the whole limit back once a window has passed without a 429, to the next burst at once', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100 })
    for (let i = 0; i < 8; i++) {
      l.tryAcquire()
      clock.advance(100)
      l.release('throttled', 100, 0)
    }
    expect(l.snapshot().limit).toBeLessThan(60)
    // Quiet: the proxy sends nothing for a while, so no success at high use raises the limit.
    clock.advance(10_001)
    let admitted = 0
    for (let i = 0; i < 100; i++) if (l.tryAcquire()) admitted++
    expect(admitted).toBe(100)
    expect(l.snapshot().limit).toBe(100)
  })

  it('climbs back under load from a limit of one or two, after a third of the calls were answered 429', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100 })
    for (let i = 0; i < 180; i++) {
      l.tryAcquire()
      clock.advance(200)
      l.release(i % 3 === 0 ? 'throttled' : 'ok', 200, 1000)
    }
    expect(l.throttling).toBe(false)
    expect(l.snapshot().limit).toBeLessThanOrEqual(2)
    // Rounds of calls at the limit, all succeeding: the limit grows by half every round.
    for (let round = 0; round < 6; round++) {
      let taken = 0
      while (l.tryAcquire()) taken++
      for (let i = 0; i < taken; i++) l.release('ok', 10)
    }
    expect(l.snapshot().limit).toBeGreaterThanOrEqual(10)
  })

  it('in a storm of 429s, refuses calls at once with the provider Retry-After, probes after it, and a success ends it', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100 })
    for (let i = 0; i < 10; i++) {
      expect(l.tryAcquire()).toBe(true)
      l.release('throttled', 5, 3000)
    }
    expect(l.throttling).toBe(true)
    const refused = l.acquire(clock.monotonic() + 60_000, never)
    expect(refused).toMatchObject({ kind: 'throttled', status: 429, retryAfterMs: 3000, failover: true })
    clock.advance(2500)
    // Later in the storm, the provider's own Retry-After, not what is left of it.
    expect(l.acquire(clock.monotonic() + 60_000, never)).toMatchObject({ retryAfterMs: 3000 })
    clock.advance(500)
    expect(l.tryAcquire()).toBe(true) // the probe
    expect(l.tryAcquire()).toBe(false) // one at a time
    l.release('ok', 5)
    expect(l.throttling).toBe(false)
    expect(l.tryAcquire()).toBe(true)
  })

  it('sees a storm that begins after a long calm at its tenth 429 in a row, and cuts no further', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100 })
    for (let i = 0; i < 200; i++) {
      l.tryAcquire()
      clock.advance(40)
      l.release('ok', 40) // 8 s of successes fill the window
    }
    for (let i = 0; i < 9; i++) {
      l.tryAcquire()
      clock.advance(150)
      l.release('throttled', 2, 2000)
    }
    expect(l.throttling).toBe(false)
    l.tryAcquire()
    clock.advance(150)
    l.release('throttled', 2, 2000)
    expect(l.throttling).toBe(true)
    expect(l.acquire(clock.monotonic() + 60_000, never)).toMatchObject({
      kind: 'throttled',
      retryAfterMs: 2000,
    })
    const cut = l.snapshot().limit
    expect(cut).toBeLessThan(100)
    // The storm's probes are answered 429 too: the limit stays where the storm's onset left it.
    for (let i = 0; i < 5; i++) {
      clock.advance(2000)
      expect(l.tryAcquire()).toBe(true)
      l.release('throttled', 2, 2000)
    }
    expect(l.snapshot().limit).toBe(cut)
  })

  it('gives back the concurrency a storm cut when the storm ends, and was never shedding', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 40 })
    for (let i = 0; i < 30; i++) {
      l.tryAcquire()
      clock.advance(150)
      l.release('throttled', 2, 1000)
    }
    expect(l.throttling).toBe(true)
    expect(l.acquire(clock.monotonic() + 60_000, never)).toMatchObject({ kind: 'throttled' })
    expect(l.snapshot().limit).toBeLessThan(40)
    clock.advance(1000)
    expect(l.tryAcquire()).toBe(true) // the probe
    l.release('ok', 5)
    expect(l.throttling).toBe(false)
    // Refused in the storm, but never for want of a connection: health has nothing left to report.
    expect(l.shedding).toBe(false)
    expect(l.snapshot().limit).toBe(40)
  })

  /** Ten 429s asking for `retryAfterMs` each: a storm. */
  function storm(l: ProviderLimiter, retryAfterMs: number | undefined): void {
    for (let i = 0; i < 10; i++) {
      expect(l.tryAcquire()).toBe(true)
      l.release('throttled', 5, retryAfterMs)
    }
    expect(l.throttling).toBe(true)
  }
  const refusal = (l: ProviderLimiter, clock: FakeClock) => l.acquire(clock.monotonic() + 60_000, never)

  it("in a storm, refuses with the Retry-After of the provider's latest 429, not an earlier longer one", () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100 })
    storm(l, DAY)
    clock.advance(11_000) // a window after its last 429, the storm is over by itself
    expect(l.tryAcquire()).toBe(true)
    l.release('throttled', 5, 2000) // the provider asks for less now, and the storm is back
    expect(refusal(l, clock)).toMatchObject({ kind: 'throttled', retryAfterMs: 2000 })
  })

  it('in a storm, refuses with a Retry-After of one second after a 429 whose Retry-After it could not read', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100 })
    expect(l.tryAcquire()).toBe(true) // a call sent before the storm
    storm(l, 5000)
    clock.advance(1000)
    l.release('throttled', 5, undefined) // answered 429 without a Retry-After the proxy can read
    expect(l.tryAcquire()).toBe(true) // the probe: nothing the provider asked for holds it back
    expect(refusal(l, clock)).toMatchObject({ kind: 'throttled', retryAfterMs: 1000 })
  })

  it('in a storm, refuses with a Retry-After no longer than the storm has left to run', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100 })
    storm(l, DAY)
    expect(refusal(l, clock)).toMatchObject({ kind: 'throttled', retryAfterMs: 10_000 })
    clock.advance(4000)
    expect(refusal(l, clock)).toMatchObject({ kind: 'throttled', retryAfterMs: 6000 })
  })

  it('in a storm, refuses with a Retry-After of at most retry_after_max', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100, windowMs: 60_000, retryAfterMaxMs: 30_000 })
    storm(l, DAY)
    expect(refusal(l, clock)).toMatchObject({ kind: 'throttled', retryAfterMs: 30_000 })
  })

  it('in a storm, probes once retry_after_max has passed when the provider asked for longer', () => {
    const { clock, limiter: l } = limiter({ maxConcurrency: 100, windowMs: 60_000, retryAfterMaxMs: 30_000 })
    storm(l, DAY)
    clock.advance(29_999)
    expect(l.tryAcquire()).toBe(false)
    clock.advance(1)
    expect(l.tryAcquire()).toBe(true)
  })
})
