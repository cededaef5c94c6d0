import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_KEY, type Harness, startAll } from './helpers.ts'

describe('the official openai SDK through the proxy', () => {
  let h: Harness
  let client: OpenAI

  beforeAll(async () => {
    h = await startAll()
    client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 })
  })
  afterAll(() => h.close())

  it('gets a non-streaming completion with usage', async () => {
    const res = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 12 })
      .withResponse()
    const completion = res.data
    expect(completion.object).toBe('chat.completion')
    expect(completion.choices[0].message.content?.length).toBeGreaterThan(0)
    expect(completion.usage?.completion_tokens).toBeLessThanOrEqual(12)
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    )
    expect(res.response.headers.get('x-request-id')).toMatch(/.+/)
    expect(res.response.headers.get('server-timing')).toMatch(/^proxy;dur=[\d.]+, upstream;dur=[\d.]+/)
    expect(res.response.headers.get('x-proxy-provider')).toBe('openai-a')
  })

  it('streams chunk by chunk and passes usage through when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream please' }],
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let chunks = 0
    let usage: OpenAI.CompletionUsage | undefined | null
    for await (const chunk of stream) {
      chunks++
      text += chunk.choices[0]?.delta?.content ?? ''
      if (chunk.usage) usage = chunk.usage
    }
    expect(chunks).toBeGreaterThan(3)
    expect(text.length).toBeGreaterThan(0)
    expect(usage?.completion_tokens).toBeGreaterThan(0)
  })

  it('does not add a usage chunk the client did not ask for', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream please' }],
      max_tokens: 8,
      stream: true,
    })
    for await (const chunk of stream) {
      expect(chunk.usage ?? undefined).toBeUndefined()
      expect(chunk.choices.length).toBe(1)
    }
  })

  it('translates an Anthropic-wire provider for the SDK, streaming and not', async () => {
    const completion = await client.chat.completions.create({
      model: 'haiku',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
      ],
      max_tokens: 10,
    })
    expect(completion.object).toBe('chat.completion')
    expect(completion.model).toBe('claude-3-5-haiku-latest')
    expect(completion.choices[0].finish_reason).toMatch(/stop|length/)
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0)

    const stream = await client.chat.completions.create({
      model: 'claude-3-5-haiku-latest',
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 10,
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let finish: string | null | undefined
    let usage: OpenAI.CompletionUsage | undefined | null
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
      if (chunk.usage) usage = chunk.usage
    }
    expect(text.length).toBeGreaterThan(0)
    expect(finish).toMatch(/stop|length/)
    expect(usage?.completion_tokens).toBeGreaterThan(0)
  })

  it('raises the SDK errors clients expect', async () => {
    await expect(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' })
    await expect(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }),
    ).rejects.toMatchObject({ status: 400, code: 'invalid_request', param: 'messages' })
    const stranger = new OpenAI({ apiKey: 'sk-wrong-key-000', baseURL: `${h.url}/v1`, maxRetries: 0 })
    await expect(stranger.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
  })

  it('lists routed models and aliases', async () => {
    const ids: string[] = []
    for await (const m of client.models.list()) ids.push(m.id)
    expect(ids).toEqual(
      expect.arrayContaining(['gpt-4o-mini', 'claude-3-5-haiku-latest', 'haiku', 'resilient']),
    )
  })
})
