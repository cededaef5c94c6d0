import { describe, expect, it } from 'vitest'
import { Cancel } from '../src/cancel.ts'
import type { Deployment, ProviderRuntime } from '../src/providers/registry.ts'
import { ProviderBreaker } from '../src/resilience/breaker.ts'
import { type AttemptEvent, Executor } from '../src/resilience/executor.ts'
import { UpstreamFailure } from '../src/resilience/failure.ts'
import { type LimiterSettings, ProviderLimiter } from '../src/resilience/limiter.ts'
import { RetryBudget } from '../src/resilience/retry-budget.ts'
import { FakeClock } from './fake-clock.ts'

const breakerSettings = {
  enabled: true,
  failureThreshold: 1000,
  errorThresholdPercentage: 50,
  windowMs: 10_000,
  recoveryTimeoutMs: 1000,
  maxRecoveryTimeoutMs: 8000,
  halfOpenMaxCalls: 1,
  recoverySuccessThreshold: 1,
  dynamicRecoveryTimeout: false,
}

const limiterSettings: LimiterSettings = {
  maxConcurrency: 100,
  minConcurrency: 1,
  queueSize: 100,
  queueTimeoutMs: 500,
  adaptive: true,
  throttleRatio: 0.5,
  windowMs: 10_000,
}

function deployment(name: string, clock: FakeClock, limits: Partial<LimiterSettings> = {}): Deployment {
  const provider = {
    name,
    breaker: new ProviderBreaker(name, breakerSettings, clock),
    limiter: new ProviderLimiter({ ...limiterSettings, ...limits }, clock),
    lastError: undefined,
  } as unknown as ProviderRuntime
  return { provider, model: name, weight: 1 }
}

const status = (code: number, retryAfterMs?: number) =>
  new UpstreamFailure('status', {
    message: String(code),
    status: code,
    retryAfterMs,
    retryable: [429, 500, 502, 503, 504].includes(code),
    failover: code !== 400,
    countsAsFailure: code >= 500,
  })

function setup(options: { attempts?: number; budget?: number } = {}) {
  const clock = new FakeClock()
  const events: AttemptEvent[] = []
  const executor = new Executor(
    {
      attempts: options.attempts ?? 3,
      backoffFactorSeconds: 0.5,
      maxBackoffSeconds: 8,
      retryAfterMaxMs: 30_000,
    },
    {
      clock,
      random: () => 0.5,
      budget: new RetryBudget(
        { ratio: 0, minRetriesPerSecond: (options.budget ?? 100) / 10, windowSeconds: 10 },
        clock,
      ),
      onAttempt: (e) => events.push(e),
    },
  )
  const signal = new Cancel()
  const exec = <T>(order: Deployment[], fn: (d: Deployment) => Promise<T>, cancel: Cancel = signal) =>
    executor.run(order, fn, cancel, { deadline: clock.monotonic() + 60_000 })
  return { clock, events, executor, exec, signal }
}

/** An attempt function answering from a script: one entry per call, an Error to fail. */
function scripted(script: (string | UpstreamFailure)[]) {
  const calls: string[] = []
  const fn = async (d: Deployment) => {
    calls.push(d.provider.name)
    const next = script.shift()
    if (next instanceof Error) throw next
    return next ?? 'ok'
  }
  return { calls, fn }
}

describe('executor', () => {
  it('fails over to the next deployment at once, without waiting', async () => {
    const { clock, exec } = setup()
    const a = deployment('a', clock)
    const b = deployment('b', clock)
    const { calls, fn } = scripted([status(503), 'from b'])
    const run = await exec([a, b], fn)
    expect(run.value).toBe('from b')
    expect(calls).toEqual(['a', 'b'])
    expect(clock.sleeps).toEqual([])
    expect(run.attempts).toBe(2)
  })

  it('retries a lone deployment with full-jitter exponential backoff', async () => {
    const { clock, exec } = setup()
    const a = deployment('a', clock)
    const { calls, fn } = scripted([status(500), status(502), status(504), 'ok'])
    const run = await exec([a], fn)
    expect(run.value).toBe('ok')
    expect(calls).toEqual(['a', 'a', 'a', 'a'])
    // random() = 0.5 of 0.5 s, 1 s, 2 s
    expect(clock.sleeps).toEqual([250, 500, 1000])
    expect(run.waitMs).toBe(1750)
  })

  it('waits what Retry-After asks before retrying this request, and never locks others out', async () => {
    const { clock, exec } = setup()
    const a = deployment('a', clock)
    const { fn } = scripted([status(429, 2000), 'ok'])
    await exec([a], fn)
    expect(clock.sleeps).toEqual([2000])
    // Another request, at once: the provider is called, not skipped for the 429 someone else got.
    const other = scripted(['ok'])
    clock.advance(-2000)
    await exec([a], other.fn)
    expect(other.calls).toEqual(['a'])
  })

  it('fails over on 429 at once, and the next request tries the first deployment again', async () => {
    const { clock, exec } = setup()
    const a = deployment('a', clock)
    const b = deployment('b', clock)
    const first = scripted([status(429, 5000), 'b'])
    await exec([a, b], first.fn)
    expect(first.calls).toEqual(['a', 'b'])
    expect(clock.sleeps).toEqual([])
    const second = scripted(['a'])
    await exec([a, b], second.fn)
    expect(second.calls).toEqual(['a'])
  })

  it('gives up when Retry-After is longer than retry_after_max', async () => {
    const { clock, exec } = setup()
    const a = deployment('a', clock)
    const { calls, fn } = scripted([status(429, 120_000), 'never'])
    await expect(exec([a], fn)).rejects.toMatchObject({ status: 429, retryAfterMs: 120_000 })
    expect(calls).toEqual(['a'])
    expect(clock.sleeps).toEqual([])
  })

  it('does not retry or fail over a client error', async () => {
    const { clock, exec } = setup()
    const { calls, fn } = scripted([status(400), 'never'])
    await expect(exec([deployment('a', clock), deployment('b', clock)], fn)).rejects.toMatchObject({
      status: 400,
    })
    expect(calls).toEqual(['a'])
  })

  it('stops after retry_attempts retries', async () => {
    const { clock, exec } = setup({ attempts: 2 })
    const { calls, fn } = scripted([status(503), status(503), status(503), status(503)])
    await expect(exec([deployment('a', clock)], fn)).rejects.toMatchObject({ status: 503 })
    expect(calls).toHaveLength(3)
  })

  it('stops retrying when the retry budget is spent', async () => {
    const { clock, exec } = setup({ budget: 1 })
    const a = deployment('a', clock)
    const first = scripted([status(503), status(503), status(503), status(503)])
    await expect(exec([a], first.fn)).rejects.toBeInstanceOf(UpstreamFailure)
    expect(first.calls).toHaveLength(2)
    const second = scripted([status(503), status(503)])
    await expect(exec([a], second.fn)).rejects.toBeInstanceOf(UpstreamFailure)
    expect(second.calls).toHaveLength(1)
  })

  it('skips a provider whose breaker is open and says how long to wait when all are', async () => {
    const { clock, exec } = setup()
    const a = deployment('a', clock)
    const b = deployment('b', clock)
    a.provider.breaker.run(() => Promise.reject(status(500))).catch(() => {})
    ;(a.provider.breaker as unknown as { _force?: unknown })._force = undefined
    // open a's breaker through its public behaviour: a failing call over the threshold
    const opened = new ProviderBreaker('a', { ...breakerSettings, failureThreshold: 1 }, clock)
    await opened.run(() => Promise.reject(status(500))).catch(() => {})
    expect(opened.state).toBe('open')
    const a2 = { provider: { ...a.provider, breaker: opened }, model: 'a', weight: 1 } as Deployment
    const { calls, fn } = scripted(['b'])
    await exec([a2, b], fn)
    expect(calls).toEqual(['b'])
    await expect(exec([a2], fn)).rejects.toMatchObject({
      kind: 'breaker_open',
      retryAfterMs: 1000,
    })
    opened.shutdown()
  })

  it('stops at once when the client goes away during a wait', async () => {
    const { clock, exec } = setup()
    const abort = new Cancel()
    const { fn } = scripted([status(503), 'never'])
    const wrapped = async (d: Deployment) => {
      const v = await fn(d).catch((e) => {
        abort.abort()
        throw e
      })
      return v
    }
    await expect(exec([deployment('a', clock)], wrapped, abort)).rejects.toMatchObject({
      kind: 'aborted',
    })
  })

  it('reports every attempt', async () => {
    const { clock, events, exec } = setup()
    const { fn } = scripted([status(503), 'ok'])
    await exec([deployment('a', clock), deployment('b', clock)], fn)
    expect(events.map((e) => [e.provider, e.outcome, e.status])).toEqual([
      ['a', 'status', 503],
      ['b', 'ok', 200],
    ])
  })
})
