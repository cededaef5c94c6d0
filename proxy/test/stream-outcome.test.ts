import { afterEach, describe, expect, it } from 'vitest'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { chatBody, type Harness, postChat, startAll } from './helpers.ts'

// A stream's outcome is judged once: a failure before any answer reached the client fails over
// like any failed call; after it, the client gets an error event and never [DONE], and the
// request, the breaker and the provider's health all count it as failed.

const fast: ProfileInput = { latency: { ttft: 0, itl: 0 } }
const withFaults = (faults: ProfileInput['faults']): ProfileInput => ({ ...fast, faults })
// Events a few ms apart, so that the first answer event reaches the client before the fault.
const paced = (faults: ProfileInput['faults']): ProfileInput => ({ latency: { ttft: 0, itl: 5 }, faults })

interface Streamed {
  status: number
  provider: string | null
  events: string[]
  done: boolean
  errors: { code: string }[]
  content: string
}

async function stream(url: string, model: string): Promise<Streamed> {
  const res = await postChat(url, chatBody({ model, stream: true }))
  const text = await res.text()
  const events = text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6))
  const parsed = events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e))
  return {
    status: res.status,
    provider: res.headers.get('x-proxy-provider'),
    events,
    done: events.at(-1) === '[DONE]',
    errors: parsed.filter((p) => p.error).map((p) => p.error),
    content: parsed.map((p) => p.choices?.[0]?.delta?.content ?? '').join(''),
  }
}

async function json(url: string) {
  return (await fetch(url)).json()
}

describe('stream outcomes', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('counts every cut stream as a failure: the breaker opens and health says so', async () => {
    h = await startAll({
      profile: withFaults([{ type: 'cut', after_chunks: 3, rate: 1, stream: true }]),
      overrides: { circuit_breaker: { failure_threshold: 5, error_threshold_percentage: 50 } },
    })
    const results: Streamed[] = []
    for (let i = 0; i < 12; i++) results.push(await stream(h.url, 'gpt-4o-mini'))
    const served = results.filter((r) => r.status === 200)
    expect(served.length).toBeGreaterThanOrEqual(5)
    for (const r of served) {
      expect(r.done).toBe(false)
      expect(r.errors.map((e) => e.code)).toEqual(['stream_truncated'])
    }
    // Once the breaker is open, requests are refused without a call.
    expect(results.at(-1)?.status).toBe(503)
    const health = await json(`${h.url}/health/providers`)
    expect(health.providers['openai-a'].breaker.state).toBe('open')
    expect(health.providers['openai-a'].status).toBe('unavailable')
    expect(health.providers['openai-a'].recent.failures).toBe(served.length)
    expect(health.providers['openai-a'].recent.error_rate).toBe(1)
    const metrics = await json(`${h.url}/metrics`)
    expect(metrics.providers['openai-a'].successes).toBe(0)
  })

  it('fails over a stream whose first event is an error (OpenAI wire)', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(withFaults([{ type: 'stream_error', at_chunk: 1, status: 500, rate: 1 }]))
    const r = await stream(h.url, 'resilient')
    expect(r).toMatchObject({ status: 200, provider: 'anthropic-a', done: true, errors: [] })
    expect(r.content.length).toBeGreaterThan(0)
  })

  it('fails over a stream cut right after its role-only first chunk', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(withFaults([{ type: 'cut', after_chunks: 1, rate: 1 }]))
    const r = await stream(h.url, 'resilient')
    expect(r).toMatchObject({ status: 200, provider: 'anthropic-a', done: true, errors: [] })
  })

  it('ends a stream with a malformed chunk with an error event, never [DONE], and counts it failed', async () => {
    h = await startAll({ profile: fast })
    h.mocks.openai.setProfile(paced([{ type: 'malformed', at_chunk: 3, rate: 1 }]))
    const r = await stream(h.url, 'gpt-4o-mini')
    expect(r.status).toBe(200)
    expect(r.done).toBe(false)
    expect(r.errors.map((e) => e.code)).toEqual(['upstream_bad_response'])
    // Nothing unreadable reached the client: every event it got parsed above.
    const health = await json(`${h.url}/health/providers`)
    expect(health.providers['openai-a'].recent).toMatchObject({ requests: 1, failures: 1 })
    const metrics = await json(`${h.url}/metrics`)
    expect(metrics.requests.failures).toBe(1)
  })

  it('reports a provider error event after content as an error event, never [DONE]', async () => {
    h = await startAll({ profile: fast })
    h.mocks.anthropic.setProfile(paced([{ type: 'stream_error', at_chunk: 5, status: 529, rate: 1 }]))
    const r = await stream(h.url, 'claude-3-5-haiku-latest')
    expect(r.status).toBe(200)
    expect(r.content.length).toBeGreaterThan(0)
    expect(r.done).toBe(false)
    expect(r.errors.map((e) => e.code)).toEqual(['upstream_error'])
    const health = await json(`${h.url}/health/providers`)
    expect(health.providers['anthropic-a'].recent).toMatchObject({ requests: 1, failures: 1 })
  })
})
