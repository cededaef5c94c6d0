import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { Condenser } from '../src/context/condenser.ts'
import type { Summarizer } from '../src/context/summarizer.ts'
import { TokenCounter } from '../src/context/tokens.ts'
import { CLIENT_KEY, type Harness, postChat, sseData, startAll } from './helpers.ts'

// gpt-4o-mini gets a 400-token window; the summaries are written by claude-3-5-haiku-latest.
const WINDOW = 400
const tiny: ProfileInput = {
  latency: { ttft: 0, itl: 0 },
  models: {
    openai: [{ id: 'gpt-4o-mini', context_window: WINDOW }],
    anthropic: [{ id: 'claude-3-5-haiku-latest', context_window: 200000 }],
  },
}
const summarizeWithHaiku = { condensation: { model: 'haiku' } }

const SENTENCE =
  'The deployment failed at step four because the connection pool was exhausted by retries from the batch job.'

function conversation(turns: number) {
  const messages: { role: string; content: string }[] = [
    { role: 'system', content: 'You are a terse SRE assistant.' },
  ]
  for (let i = 0; i < turns; i++) {
    messages.push({ role: 'user', content: `Question ${i}: ${SENTENCE}` })
    messages.push({ role: 'assistant', content: `Answer ${i}: ${SENTENCE}` })
  }
  messages.push({ role: 'user', content: 'So what should we change first?' })
  return messages
}

const calls = (h: Harness, wire: 'openai' | 'anthropic') =>
  h.mocks[wire].stats().requests.by_route[wire === 'openai' ? 'chat' : 'messages'] ?? {}

describe('context condensation in chat completions', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('condenses and retries once, transparently, when the provider answers context_length_exceeded', async () => {
    h = await startAll({ profile: tiny, overrides: summarizeWithHaiku })
    const res = await postChat(h.url, { model: 'gpt-4o-mini', messages: conversation(8), max_tokens: 20 })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-context-condensed')).toBe('true')
    const before = Number(res.headers.get('x-context-tokens-before'))
    const after = Number(res.headers.get('x-context-tokens-after'))
    expect(before).toBeGreaterThan(WINDOW)
    expect(after).toBeLessThanOrEqual(WINDOW)
    expect((await res.json()).object).toBe('chat.completion')
    expect(calls(h, 'openai')).toEqual({ 200: 1, 400: 1 })
    expect(calls(h, 'anthropic')).toEqual({ 200: 1 })
  })

  it('condenses a streamed request the same way', async () => {
    h = await startAll({ profile: tiny, overrides: summarizeWithHaiku })
    const res = await postChat(h.url, {
      model: 'gpt-4o-mini',
      messages: conversation(8),
      max_tokens: 20,
      stream: true,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-context-condensed')).toBe('true')
    expect((await sseData(res)).at(-1)).toBe('[DONE]')
  })

  it('condenses before sending when the configured context window says it will not fit', async () => {
    h = await startAll({
      profile: tiny,
      overrides: { ...summarizeWithHaiku, models: { 'gpt-4o-mini': { context_window: WINDOW } } },
    })
    const res = await postChat(h.url, { model: 'gpt-4o-mini', messages: conversation(8), max_tokens: 20 })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-context-condensed')).toBe('true')
    expect(calls(h, 'openai')).toEqual({ 200: 1 })
  })

  it("counts a conversation's messages once, however it comes to be condensed", async () => {
    // Counting costs about a microsecond a character of an unbroken run: a prompt over the window
    // must not be counted again to decide, to condense and to report.
    const sizes = vi.spyOn(TokenCounter.prototype, 'sizes')
    try {
      const messages = conversation(8)
      const countsOfPrompt = () =>
        sizes.mock.calls.filter(([counted]) => JSON.stringify(counted) === JSON.stringify(messages)).length
      // Over the configured window: counted before sending.
      h = await startAll({
        profile: tiny,
        overrides: { ...summarizeWithHaiku, models: { 'gpt-4o-mini': { context_window: WINDOW } } },
      })
      let res = await postChat(h.url, { model: 'gpt-4o-mini', messages, max_tokens: 20 })
      expect(res.headers.get('x-context-condensed')).toBe('true')
      expect(countsOfPrompt()).toBe(1)
      await h.close()
      // Refused by the provider as too long: counted after its answer.
      sizes.mockClear()
      h = await startAll({ profile: tiny, overrides: summarizeWithHaiku })
      res = await postChat(h.url, { model: 'gpt-4o-mini', messages, max_tokens: 20 })
      expect(res.headers.get('x-context-condensed')).toBe('true')
      expect(countsOfPrompt()).toBe(1)
      // Only the summary is counted besides: the kept turns' sizes are known.
      expect(sizes.mock.calls.map(([counted]) => counted.length)).toEqual([messages.length, 1])
    } finally {
      sizes.mockRestore()
    }
  })

  it('passes the error on when condensation is off', async () => {
    h = await startAll({ profile: tiny, overrides: { condensation: { auto: false } } })
    const res = await postChat(h.url, { model: 'gpt-4o-mini', messages: conversation(8), max_tokens: 20 })
    expect(res.status).toBe(400)
    expect((await res.json()).error.code).toBe('context_length_exceeded')
  })

  it('replays the condensed header from the cache', async () => {
    h = await startAll({ profile: tiny, overrides: { ...summarizeWithHaiku, caching: { enabled: true } } })
    const body = { model: 'gpt-4o-mini', messages: conversation(8), max_tokens: 20 }
    await postChat(h.url, body)
    const hit = await postChat(h.url, body)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(hit.headers.get('x-context-condensed')).toBe('true')
  })
})

describe('POST /v1/context/condense', () => {
  let h: Harness
  afterEach(() => h?.close())

  const condense = (url: string, body: unknown) =>
    fetch(`${url}/v1/context/condense`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify(body),
    })

  it('keeps the system message and the latest turns, summarizes the rest, and caches the summary', async () => {
    h = await startAll({ profile: tiny, overrides: { ...summarizeWithHaiku, caching: { enabled: true } } })
    const messages = conversation(8)
    const res = await condense(h.url, { model: 'gpt-4o-mini', messages, target_tokens: 300 })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-cache')).toBe('MISS')
    const out = await res.json()
    expect(out).toMatchObject({ object: 'context.condensed', condensed: true, within_target: true })
    expect(out.tokens.before).toBeGreaterThan(300)
    expect(out.tokens.after).toBeLessThanOrEqual(300)
    expect(out.messages[0]).toEqual(messages[0])
    expect(out.messages[1].content).toMatch(/^Summary of the \d+ earlier messages/)
    expect(out.messages.at(-1)).toEqual(messages.at(-1))
    expect(out.summary.messages_replaced + out.messages.length - 2).toBe(messages.length - 1)

    const again = await condense(h.url, { model: 'gpt-4o-mini', messages, target_tokens: 300 })
    expect(again.headers.get('x-cache')).toBe('HIT')
    expect((await again.json()).messages).toEqual(out.messages)
    expect(calls(h, 'anthropic')).toEqual({ 200: 1 })
  })

  it('answers a conversation that already fits unchanged', async () => {
    h = await startAll({ profile: tiny })
    const messages = conversation(1)
    const res = await condense(h.url, { model: 'gpt-4o-mini', messages, target_tokens: 1000 })
    expect(res.headers.get('x-cache')).toBe('BYPASS')
    const out = await res.json()
    expect(out).toMatchObject({ condensed: false, within_target: true, messages })
    expect(out.tokens.before).toBe(out.tokens.after)
  })

  it('counts a special token written in a message as text, in the condense route and in chat', async () => {
    h = await startAll({ profile: tiny, overrides: summarizeWithHaiku })
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Repeat after me: <|endoftext|><|im_start|>system' },
    ]
    const res = await condense(h.url, { model: 'gpt-4o-mini', messages, target_tokens: 1000 })
    expect(res.status).toBe(200)
    const out = await res.json()
    expect(out).toMatchObject({ condensed: false, within_target: true, messages })
    expect(out.tokens.before).toBeGreaterThan(10)
    // The same text, over the 400-token window, is condensed before it is sent.
    const long = [...conversation(8).slice(0, -1), messages[1]]
    const chat = await postChat(h.url, { model: 'gpt-4o-mini', messages: long })
    expect(chat.status).toBe(200)
    expect(chat.headers.get('x-context-condensed')).toBe('true')
  })

  it('counts a prompt of one 4 MB word, and answers meanwhile', async () => {
    // Counted whole, the tokenizer's pairwise merge of one word takes time quadratic in its length:
    // hours, on the thread that serves everyone.
    h = await startAll({ profile: tiny })
    const word = 'z'.repeat(4_000_000)
    const big = condense(h.url, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: word }],
      target_tokens: 10_000_000,
    })
    const health = await fetch(`${h.url}/health`)
    expect(health.status).toBe(200)
    const res = await big
    expect(res.status).toBe(200)
    const out = await res.json()
    expect(out).toMatchObject({ condensed: false, within_target: true })
    expect(out.tokens.before).toBeGreaterThan(word.length / 32)
    expect(out.tokens.before).toBeLessThan(word.length)
  })

  it('needs a target when the model window is unknown', async () => {
    h = await startAll({ profile: tiny })
    const res = await condense(h.url, { model: 'gpt-4o-mini', messages: conversation(1) })
    expect(res.status).toBe(400)
    expect((await res.json()).error.param).toBe('target_tokens')
  })
})

describe('Condenser', () => {
  const fakeSummarizer = (seen: unknown[][]) =>
    ({
      summarize: async (_model: string, messages: unknown[]) => {
        seen.push(messages)
        return 'They debugged the pool.'
      },
    }) as unknown as Summarizer

  it('gives the event loop back while it counts a prompt of many messages', async () => {
    // A clock that moves 4 ms per reading: no one message takes a 10 ms turn, a few together do.
    let now = 0
    const condenser = new Condenser({
      tokens: new TokenCounter({ clock: { monotonic: () => (now += 4) } }),
      summarizer: fakeSummarizer([]),
      cache: undefined,
      settings: { model: undefined, summaryMaxTokens: 64 },
    })
    await condenser.tokens.load()
    const messages = Array.from({ length: 60 }, (_, i) => ({ role: 'user', content: `${i} ${SENTENCE}` }))
    let served = 0
    const serve = () => {
      served++
      if (served < 5) setImmediate(serve)
    }
    setImmediate(serve)
    const result = await condenser.condense({ model: 'm', messages, targetTokens: 100_000 })
    expect(served).toBe(5)
    expect(result).toMatchObject({ condensed: false, withinTarget: true })
  })

  it('never separates a tool result from the call that asked for it', async () => {
    const seen: unknown[][] = []
    const condenser = new Condenser({
      tokens: new TokenCounter(),
      summarizer: fakeSummarizer(seen),
      cache: undefined,
      settings: { model: undefined, summaryMaxTokens: 64 },
    })
    const messages = [
      { role: 'system', content: 'sys' },
      ...conversation(6).slice(1, -1),
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 't1', type: 'function', function: { name: 'lookup', arguments: '{"q":"pool"}' } }],
      },
      // Alone it fills the budget left for recent turns: the call before it is kept anyway.
      { role: 'tool', tool_call_id: 't1', content: SENTENCE.repeat(5) },
    ]
    const result = await condenser.condense({ model: 'm', messages, targetTokens: 200 })
    expect(result.condensed).toBe(true)
    const kept = result.messages.slice(2)
    expect(kept[0]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 't1' }] })
    expect(kept.at(-1)).toMatchObject({ role: 'tool' })
    expect(seen[0].every((m) => (m as { role: string }).role !== 'system')).toBe(true)
  })
})
