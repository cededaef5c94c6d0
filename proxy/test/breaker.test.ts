import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { type BreakerCall, type BreakerSettings, ProviderBreaker } from '../src/resilience/breaker.ts'
import { UpstreamFailure } from '../src/resilience/failure.ts'
import { FakeClock } from './fake-clock.ts'

const SETTINGS: BreakerSettings = {
  enabled: true,
  failureThreshold: 10,
  errorThresholdPercentage: 50,
  windowMs: 60_000,
  recoveryTimeoutMs: 60_000,
  maxRecoveryTimeoutMs: 600_000,
  halfOpenMaxCalls: 2,
  recoverySuccessThreshold: 1,
  dynamicRecoveryTimeout: true,
}

const providerDown = () =>
  new UpstreamFailure('status', {
    message: 'provider 503',
    status: 503,
    retryable: true,
    countsAsFailure: true,
  })
const clientError = () =>
  new UpstreamFailure('status', {
    message: 'bad request',
    status: 400,
    retryable: false,
    countsAsFailure: false,
  })

let breakers: ProviderBreaker[] = []
afterEach(() => {
  for (const b of breakers) b.shutdown()
  breakers = []
})

function breaker(settings: Partial<BreakerSettings> = {}, clock = new FakeClock()): ProviderBreaker {
  const b = new ProviderBreaker('p', { ...SETTINGS, ...settings }, clock)
  breakers.push(b)
  return b
}

function begin(b: ProviderBreaker): BreakerCall {
  const call = b.begin()
  if (call instanceof UpstreamFailure) throw call
  return call
}

/**
 * A breaker opened by five failures whose provider has recovered: the recovery timer (opossum's,
 * 1 ms here) let it half-open, and both trial calls succeeded.
 */
async function recovered(): Promise<ProviderBreaker> {
  const b = breaker({ failureThreshold: 5, recoveryTimeoutMs: 1 })
  await calls(b, 5, providerDown)
  expect(b.state).toBe('open')
  await once(b, 'state')
  expect(b.state).toBe('half_open')
  await calls(b, 2)
  expect(b.state).toBe('closed')
  return b
}

/** `n` calls that end at once with `failure` (undefined: success), each counted before the next. */
async function calls(b: ProviderBreaker, n: number, failure?: () => UpstreamFailure): Promise<void> {
  for (let i = 0; i < n; i++) await begin(b).end(failure?.())
}

describe('a provider circuit breaker', () => {
  it('counts every ended call in its window, successes and failures, and stays closed below the threshold', async () => {
    const b = breaker()
    await calls(b, 12)
    await calls(b, 11, providerDown)
    expect(b.state).toBe('closed')
    expect(b.snapshot().window).toMatchObject({ calls: 23, successes: 12, failures: 11 })
  })

  it('opens once failures pass the error percentage with enough calls, and then refuses calls', async () => {
    const b = breaker()
    const states: string[] = []
    b.on('state', (s) => states.push(s))
    await calls(b, 4)
    await calls(b, 6, providerDown)
    expect(b.state).toBe('open')
    expect(states).toEqual(['open'])
    expect(b.canAttempt()).toBe(false)
    const refused = b.begin()
    expect(refused).toBeInstanceOf(UpstreamFailure)
    expect((refused as UpstreamFailure).kind).toBe('breaker_open')
  })

  it('never opens on a client error: it is counted as a call that did not fail', async () => {
    const b = breaker()
    await calls(b, 30, clientError)
    expect(b.state).toBe('closed')
    expect(b.snapshot().window).toMatchObject({ calls: 30, successes: 30, failures: 0 })
  })

  it('counts a call when it ends: calls still in flight neither dilute nor add to the error rate', async () => {
    const b = breaker()
    // Twenty long calls (streams) in flight; ten short ones fail meanwhile.
    const streams = Array.from({ length: 20 }, () => begin(b))
    expect(b.snapshot().window.calls).toBe(0)
    await calls(b, 10, providerDown)
    expect(b.state).toBe('open')
    // The streams end well afterwards: their successes are counted then, once each.
    for (const s of streams) await s.end()
    expect(b.snapshot().window).toMatchObject({ calls: 30, successes: 20, failures: 10 })
  })

  it('when disabled, sees every call but judges none and never opens', async () => {
    const b = breaker({ enabled: false })
    await calls(b, 5)
    await calls(b, 20, providerDown)
    // Disabled: calls are still seen, but nothing is judged and nothing opens.
    expect(b.state).toBe('closed')
    expect(b.snapshot().window.calls).toBe(25)
    expect(b.snapshot().window.successes).toBe(0)
  })

  it('judges a recovered provider on a fresh window: one failure after closing does not reopen it', async () => {
    const b = await recovered()
    await calls(b, 3)
    await calls(b, 1, providerDown)
    expect(b.state).toBe('closed')
    expect(b.snapshot().window).toMatchObject({ calls: 4, successes: 3, failures: 1 })
  })

  it('reopens a recovered provider that fails again as often as it took to open it', async () => {
    const b = await recovered()
    await calls(b, 5, providerDown)
    expect(b.state).toBe('open')
  })

  it('forgets failures older than its window, on the injected clock', async () => {
    const clock = new FakeClock()
    const b = breaker({}, clock)
    await calls(b, 9, providerDown)
    clock.advance(SETTINGS.windowMs)
    await calls(b, 1, providerDown)
    expect(b.state).toBe('closed')
    expect(b.snapshot().window).toMatchObject({ calls: 1, failures: 1 })
  })
})
