import { afterEach, describe, expect, it } from 'vitest'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { chatBody, type Harness, postChat, startAll } from './helpers.ts'

// 429s through the real mock: Retry-After governs the retry of the request that got it; a
// provider that keeps answering 429 is slowed, not shut; a storm is answered 429 quickly.

const fast: ProfileInput = { latency: { ttft: 1, itl: 0 } }
const rateLimited = (rate: number, retryAfter: string): ProfileInput => ({
  ...fast,
  faults: [{ type: 'rate_limit', rate, retry_after: retryAfter }],
})

/** `total` requests, `concurrency` at a time; their statuses and headers. */
async function load(url: string, total: number, concurrency: number, model = 'gpt-4o-mini') {
  const out: { status: number; retryAfter: string | null; provider: string | null }[] = []
  for (let sent = 0; sent < total; sent += concurrency) {
    const wave = Array.from({ length: Math.min(concurrency, total - sent) }, (_, i) =>
      postChat(url, chatBody({ model, messages: [{ role: 'user', content: `hello ${sent + i}` }] })).then(
        async (res) => {
          await res.arrayBuffer()
          return {
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            provider: res.headers.get('x-proxy-provider'),
          }
        },
      ),
    )
    out.push(...(await Promise.all(wave)))
  }
  return out
}

/** Open loop: one request every `gapMs`, whatever the earlier ones are doing (as clients do). */
async function steady(url: string, total: number, gapMs: number) {
  const pending: Promise<number>[] = []
  for (let i = 0; i < total; i++) {
    pending.push(
      postChat(url, chatBody({ messages: [{ role: 'user', content: `steady ${i}` }] })).then(async (res) => {
        await res.arrayBuffer()
        return res.status
      }),
    )
    await new Promise((r) => setTimeout(r, gapMs))
  }
  return Promise.all(pending)
}

describe('429 handling', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('5 % of answers 429 (Retry-After 1 s) on a single deployment at 50 req/s: at least 99 % succeed', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(rateLimited(0.05, '1s'))
    const statuses = await steady(h.url, 250, 20)
    const ok = statuses.filter((s) => s === 200).length
    const seen429 = h.mocks.openai.stats().requests.by_route.chat?.[429] ?? 0
    expect(seen429).toBeGreaterThan(3) // the fault did fire
    expect(ok / statuses.length).toBeGreaterThanOrEqual(0.99)
  })

  it('fails 429s over to the fallback deployment at once', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(rateLimited(1, '30s'))
    const results = await load(h.url, 40, 10, 'resilient')
    expect(results.every((r) => r.status === 200 && r.provider === 'anthropic-a')).toBe(true)
  })

  it('answers a 429 storm with 429 and the provider Retry-After, without calling it for every request', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(rateLimited(1, '1s'))
    const first = await load(h.url, 20, 20)
    expect(first.every((r) => r.status === 429 && Number(r.retryAfter) >= 1)).toBe(true)
    const calls = () => h.mocks.openai.stats().requests.by_route.chat?.[429] ?? 0
    const before = calls()
    const started = performance.now()
    const second = await load(h.url, 40, 20)
    const seconds = (performance.now() - started) / 1000
    expect(second.every((r) => r.status === 429 && Number(r.retryAfter) >= 1)).toBe(true)
    // Refused by the proxy, not the provider: one probe a second at most, not 40 calls.
    expect(calls() - before).toBeLessThanOrEqual(Math.ceil(seconds) + 1)
    expect(calls() - before).toBeLessThan(10)
  })
})
