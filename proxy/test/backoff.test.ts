import { describe, expect, it } from 'vitest'
import type { Clock } from '../src/clock.ts'
import { backoffMs, retryAfterMs } from '../src/resilience/backoff.ts'
import { RetryBudget } from '../src/resilience/retry-budget.ts'

describe('backoff', () => {
  it('draws full jitter below an exponentially growing ceiling, capped', () => {
    expect(backoffMs(0, 0.5, 8, () => 0.999)).toBe(499)
    expect(backoffMs(1, 0.5, 8, () => 0.999)).toBe(999)
    expect(backoffMs(3, 0.5, 8, () => 0.5)).toBe(2000)
    expect(backoffMs(10, 0.5, 8, () => 0.999)).toBe(7992)
    expect(backoffMs(2, 0.5, 8, () => 0)).toBe(0)
  })

  it('reads retry-after-ms, retry-after seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(retryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '9' }, now)).toBe(1500)
    expect(retryAfterMs({ 'retry-after': '2' }, now)).toBe(2000)
    expect(retryAfterMs({ 'retry-after': '0.5' }, now)).toBe(500)
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now)).toBe(3000)
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined()
    expect(retryAfterMs({}, now)).toBeUndefined()
  })
})

describe('retry budget', () => {
  function clockAt(start: number) {
    const state = { now: start }
    const clock: Clock = { now: () => state.now, monotonic: () => state.now, sleep: async () => {} }
    return { clock, state }
  }

  it('allows retries up to the ratio of recent requests, with a floor', () => {
    const { clock } = clockAt(0)
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0.1, windowSeconds: 10 }, clock)
    for (let i = 0; i < 100; i++) budget.recordRequest()
    let granted = 0
    for (let i = 0; i < 50; i++) if (budget.tryRetry()) granted++
    expect(granted).toBe(20)
    expect(budget.snapshot()).toEqual({ requests: 100, retries: 20, denied: 30 })
  })

  it('forgets requests and retries that left the window', () => {
    const { clock, state } = clockAt(0)
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, windowSeconds: 10 }, clock)
    for (let i = 0; i < 10; i++) budget.recordRequest()
    for (let i = 0; i < 5; i++) expect(budget.tryRetry()).toBe(true)
    expect(budget.tryRetry()).toBe(false)
    state.now = 11_000
    expect(budget.snapshot().requests).toBe(0)
    budget.recordRequest()
    budget.recordRequest()
    expect(budget.tryRetry()).toBe(true)
    expect(budget.tryRetry()).toBe(false)
  })
})
