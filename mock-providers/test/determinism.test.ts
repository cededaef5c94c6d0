import { describe, expect, it } from 'vitest'
import { activateProfile } from '../src/active-profile.ts'
import type { IncomingCall } from '../src/core.ts'
import {
  loadProfile,
  type Profile,
  parseProfile,
  planResponse,
  type ResponsePlan,
  type WireName,
} from '../src/index.ts'
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

/** A request that forces a call of a tool with a few typed properties, on either wire. */
function forcedToolCall(wire: WireName, stream: boolean): IncomingCall {
  const schema = {
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer' }, tags: { type: 'array', items: {} } },
  }
  const messages = [{ role: 'user', content: 'Weather in Paris?' }]
  const body =
    wire === 'openai'
      ? {
          model: 'gpt-4o-mini',
          stream,
          messages,
          tools: [{ type: 'function', function: { name: 'get_forecast', parameters: schema } }],
          tool_choice: 'required',
        }
      : {
          model: 'claude-3-5-haiku-latest',
          max_tokens: 256,
          stream,
          messages,
          tools: [{ name: 'get_forecast', input_schema: schema }],
          tool_choice: { type: 'any' },
        }
  const path = wire === 'openai' ? '/v1/chat/completions' : '/v1/messages'
  return { method: 'POST', path, query: '', headers: {}, body: JSON.stringify(body) }
}

function service(wire: WireName, seed: number, profile: Profile = loadProfile('zero')): MockService {
  const time = new FakeTime()
  return new MockService({ wire, profile, seed, clock: time, timers: time })
}

describe('seeded tool calls', () => {
  it('the same seed and request give the same call on both wires; another seed another one', () => {
    for (const wire of ['openai', 'anthropic'] as const) {
      const answer = (seed: number) => service(wire, seed).plan(forcedToolCall(wire, false)).chunks.join('')
      expect(answer(42)).toBe(answer(42))
      expect(answer(43)).not.toBe(answer(42))
    }
  })

  it('a tool-call stream waits the TTFT, then one ITL per token, as long as the answer without streaming', () => {
    const profile = parseProfile({ name: 'paced', latency: { ttft: 100, itl: 10 } })
    for (const wire of ['openai', 'anthropic'] as const) {
      const whole = service(wire, 1, profile).plan(forcedToolCall(wire, false))
      const streamed = service(wire, 1, profile).plan(forcedToolCall(wire, true))
      expect(whole.headersDelayMs).toBe(100 + (whole.completionTokens - 1) * 10)
      expect(streamed.completionTokens).toBe(whole.completionTokens)
      expect(streamed.delays?.[0]).toBe(100)
      expect(streamed.delays?.reduce((a, b) => a + b, 0)).toBe(whole.headersDelayMs)
    }
  })
})
