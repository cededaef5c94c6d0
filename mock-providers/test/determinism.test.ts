import { describe, expect, it } from 'vitest'
import { activateProfile } from '../src/active-profile.ts'
import type { IncomingCall } from '../src/core.ts'
import { loadProfile, type Profile, parseProfile, planResponse, type ResponsePlan } from '../src/index.ts'
import { MockService } from '../src/mock-service.ts'
import { openaiWire } from '../src/openai-wire.ts'
import { ParseCache } from '../src/parse-cache.ts'
import { createRandom } from '../src/random.ts'
import { TokenCounter } from '../src/tokens.ts'
import { FakeTime } from './helpers.ts'

function chat(content: string, stream: boolean): IncomingCall {
  return {
    method: 'POST',
    path: '/v1/chat/completions',
    query: '',
    headers: {},
    body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content }] }),
  }
}

/** A mixed sequence of requests, the same every time. */
const SEQUENCE: IncomingCall[] = Array.from({ length: 60 }, (_, i) => chat(`question ${i % 7}`, i % 3 === 0))

function summary(plan: ResponsePlan) {
  return {
    status: plan.status,
    fault: plan.fault,
    headersDelayMs: plan.headersDelayMs,
    delays: plan.delays,
    chunks: plan.chunks,
    terminal: plan.terminal,
  }
}

function run(profile: Profile, seed: number) {
  const time = new FakeTime()
  const service = new MockService({ wire: 'openai', profile, seed, clock: time, timers: time })
  return SEQUENCE.map((call) => {
    time.t += 10
    return summary(service.plan(call))
  })
}

const flakyRealistic = parseProfile({
  ...loadProfile('realistic'),
  name: 'flaky-realistic',
  faults: loadProfile('flaky').faults,
})

describe('seeded randomness', () => {
  it('the same seed and the same requests give identical plans: latencies, faults and text', () => {
    const a = run(flakyRealistic, 42)
    const b = run(flakyRealistic, 42)
    expect(b).toEqual(a)
    // the sequence exercises both dice: varied latencies and some faults
    expect(new Set(a.map((p) => p.headersDelayMs)).size).toBeGreaterThan(10)
    expect(a.some((p) => p.fault !== null)).toBe(true)
  })

  it('another seed gives other latencies and faults', () => {
    const a = run(flakyRealistic, 42)
    const c = run(flakyRealistic, 43)
    expect(c.map((p) => p.headersDelayMs)).not.toEqual(a.map((p) => p.headersDelayMs))
  })

  it('reset reseeds: the sequence after reset repeats the first one', () => {
    const time = new FakeTime()
    const service = new MockService({
      wire: 'openai',
      profile: flakyRealistic,
      seed: 5,
      clock: time,
      timers: time,
    })
    const first = SEQUENCE.map((c) => summary(service.plan(c)))
    service.reset()
    const second = SEQUENCE.map((c) => summary(service.plan(c)))
    expect(second).toEqual(first)
  })

  it('a body seen before is answered as if parsed anew, on its own route only', () => {
    const time = new FakeTime()
    const service = new MockService({
      wire: 'openai',
      profile: loadProfile('zero'),
      seed: 1,
      clock: time,
      timers: time,
    })
    const body = JSON.stringify({
      model: 'text-embedding-3-small',
      input: 'same body',
      messages: [{ role: 'user', content: 'x' }],
    })
    const asChat = (b: string) =>
      service.plan({ method: 'POST', path: '/v1/chat/completions', query: '', headers: {}, body: b })
    const asEmbeddings = (b: string) =>
      service.plan({ method: 'POST', path: '/v1/embeddings', query: '', headers: {}, body: b })
    expect(asChat(body).status).toBe(404) // an embeddings model is not a chat model
    expect(asEmbeddings(body).status).toBe(200)
    expect(asChat(body).status).toBe(404)
    const chatBody = chat('again', false).body
    const first = asChat(chatBody)
    const second = asChat(chatBody)
    expect(second.chunks.join('').replace(/mock1x\w+/, '')).toBe(
      first.chunks.join('').replace(/mock1x\w+/, ''),
    )
  })

  it('the core is a function of its inputs: a fresh context replays the same plan', () => {
    const profile = loadProfile('realistic')
    const make = () => ({
      wire: openaiWire,
      active: activateProfile(profile),
      random: createRandom(9),
      faultCounters: [],
      seed: 9,
      elapsedMs: 1000,
      epochMs: 1_750_000_000_000,
      requestIndex: 1,
      tokens: new TokenCounter(),
      parsed: new ParseCache(),
    })
    const call = chat('same prompt', true)
    expect(planResponse(call, make())).toEqual(planResponse(call, make()))
  })
})
