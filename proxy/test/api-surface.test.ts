import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_KEY, type Harness, startAll } from './helpers.ts'

// The APIs beside chat completions, as the official SDKs use them through the proxy, against
// both wire kinds of provider.

describe('POST /v1/embeddings', () => {
  let h: Harness
  let client: OpenAI

  beforeAll(async () => {
    h = await startAll({
      overrides: {
        caching: { enabled: true },
        models: {
          'text-embedding-3-small': { kind: 'embedding', deployments: [{ provider: 'openai-a' }] },
          'embed-fallback': {
            kind: 'embedding',
            deployments: [
              { provider: 'anthropic-a', model: 'claude-3-5-haiku-latest' },
              { provider: 'openai-a', model: 'text-embedding-3-small' },
            ],
          },
        },
      },
    })
    client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 })
  })
  afterAll(() => h.close())

  it('answers embeddings.create with vectors and usage, and the same input again from the cache', async () => {
    const first = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'hello' })
      .withResponse()
    expect(first.data.data[0].embedding.length).toBe(1536)
    expect(first.data.usage.prompt_tokens).toBeGreaterThan(0)
    expect(first.response.headers.get('x-cache')).toBe('MISS')
    const again = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'hello' })
      .withResponse()
    expect(again.response.headers.get('x-cache')).toBe('HIT')
    expect(again.data.data[0].embedding).toEqual(first.data.data[0].embedding)
    const batch = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b', 'c'] })
    expect(batch.data.map((d) => d.index)).toEqual([0, 1, 2])
  })

  it('skips deployments whose provider serves no embeddings, and refuses a model none of whose do', async () => {
    const served = await client.embeddings.create({ model: 'embed-fallback', input: 'x' }).withResponse()
    expect(served.response.headers.get('x-proxy-provider')).toBe('openai-a')
    const refused = await client.embeddings
      .create({ model: 'claude-3-5-haiku-latest', input: 'x' })
      .catch((e) => e)
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
    expect(refused.error).toMatchObject({ code: 'invalid_request', param: 'model' })
    const bad = await client.embeddings.create({ model: 'text-embedding-3-small', input: [] }).catch((e) => e)
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError)
    expect(bad.error.param).toBe('input')
  })
})

describe('POST /v1/messages with the Anthropic SDK, against both wire kinds', () => {
  let h: Harness
  let anthropic: Anthropic
  beforeAll(async () => {
    h = await startAll()
    anthropic = new Anthropic({ apiKey: CLIENT_KEY, baseURL: h.url, maxRetries: 0 })
  })
  afterAll(() => h.close())

  const conversation: Anthropic.MessageParam[] = [
    { role: 'user', content: 'What is the weather in Paris?' },
    {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } }],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny, 21 C' }] },
  ]
  const tools: Anthropic.Tool[] = [
    {
      name: 'weather',
      description: 'Current weather',
      input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  ]

  for (const [model, provider] of [
    ['claude-3-5-haiku-latest', 'anthropic-a'],
    ['gpt-4o-mini', 'openai-a'],
  ] as const) {
    it(`messages.create through ${provider}`, async () => {
      const { data, response } = await anthropic.messages
        .create({ model, max_tokens: 32, system: 'Be brief.', messages: conversation, tools })
        .withResponse()
      expect(response.headers.get('x-proxy-provider')).toBe(provider)
      expect(data).toMatchObject({ type: 'message', role: 'assistant', model })
      expect(data.content[0]).toMatchObject({ type: 'text' })
      expect((data.content[0] as Anthropic.TextBlock).text.length).toBeGreaterThan(0)
      expect(data.usage.output_tokens).toBeGreaterThan(0)
      expect(['end_turn', 'max_tokens']).toContain(data.stop_reason)
    })

    it(`messages.stream through ${provider}`, async () => {
      const stream = anthropic.messages.stream({ model, max_tokens: 32, messages: conversation, tools })
      let text = ''
      stream.on('text', (delta) => {
        text += delta
      })
      const final = await stream.finalMessage()
      expect(text.length).toBeGreaterThan(0)
      expect((final.content[0] as Anthropic.TextBlock).text).toBe(text)
      expect(final.usage.output_tokens).toBeGreaterThan(0)
    })
  }

  it('refuses content a chat-completions provider cannot carry, without calling one or charging it', async () => {
    const before = h.mocks.openai.stats().requests.total
    const document = {
      type: 'document',
      source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' },
    } as const
    const err = await anthropic.messages
      .create({
        model: 'gpt-4o-mini',
        max_tokens: 32,
        messages: [
          { role: 'user', content: [document, { type: 'text', text: 'What is the price in the document?' }] },
        ],
      })
      .catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.BadRequestError)
    expect(err.error.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' })
    expect(err.error.error.message).toMatch(
      /^messages\[0\]\.content\[0\]: a document whose source is "base64" cannot be sent/,
    )
    const empty = await anthropic.messages
      .create({ model: 'gpt-4o-mini', max_tokens: 32, messages: [{ role: 'user', content: [] }] })
      .catch((e) => e)
    expect(empty).toBeInstanceOf(Anthropic.BadRequestError)
    expect(h.mocks.openai.stats().requests.total).toBe(before)
    const providers = await (await fetch(`${h.url}/health/providers`)).json()
    expect(providers.providers['openai-a'].last_error).toBeNull()
    // A deployment of the Anthropic wire carries the document as it came: the request fails over to it.
    const answer = await anthropic.messages
      .create({ model: 'resilient', max_tokens: 32, messages: [{ role: 'user', content: [document] }] })
      .withResponse()
    expect(answer.response.headers.get('x-proxy-provider')).toBe('anthropic-a')
  })

  it('refuses a bad request in the Anthropic error shape', async () => {
    const err = await anthropic.messages
      .create({ model: 'gpt-4o-mini', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.BadRequestError)
    expect(err.error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', code: 'invalid_request' },
    })
  })
})

describe('POST /v1/responses with the openai SDK, against both wire kinds', () => {
  let h: Harness
  let client: OpenAI
  beforeAll(async () => {
    h = await startAll()
    client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 })
  })
  afterAll(() => h.close())

  const tools: OpenAI.Responses.Tool[] = [
    {
      type: 'function',
      name: 'weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } },
      strict: false,
    },
  ]

  for (const [model, provider] of [
    ['gpt-4o-mini', 'openai-a'],
    ['claude-3-5-haiku-latest', 'anthropic-a'],
  ] as const) {
    it(`responses.create through ${provider}`, async () => {
      const { data, response } = await client.responses
        .create({ model, instructions: 'Be brief.', input: 'Say hello.', max_output_tokens: 32, tools })
        .withResponse()
      expect(response.headers.get('x-proxy-provider')).toBe(provider)
      expect(data.object).toBe('response')
      expect(data.output_text.length).toBeGreaterThan(0)
      expect(data.usage?.output_tokens).toBeGreaterThan(0)
    })

    it(`responses.create streaming through ${provider}`, async () => {
      const stream = await client.responses.create({
        model,
        input: [{ role: 'user', content: 'Stream a greeting.' }],
        max_output_tokens: 32,
        stream: true,
      })
      const types: string[] = []
      let text = ''
      let completed: OpenAI.Responses.Response | undefined
      for await (const event of stream) {
        types.push(event.type)
        if (event.type === 'response.output_text.delta') text += event.delta
        if (event.type === 'response.completed' || event.type === 'response.incomplete')
          completed = event.response
      }
      expect(types[0]).toBe('response.created')
      expect(types).toContain('response.output_text.delta')
      expect(text.length).toBeGreaterThan(0)
      expect(completed?.usage?.output_tokens).toBeGreaterThan(0)
    })
  }

  it('refuses a request without input, without calling a provider', async () => {
    const before = h.mocks.openai.stats().requests.total
    for (const input of [undefined, []]) {
      const err = await client.responses
        .create({ model: 'gpt-4o-mini', instructions: 'Be brief.', ...(input ? { input } : {}) })
        .catch((e) => e)
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error).toMatchObject({ code: 'invalid_request', param: 'input' })
    }
    expect(h.mocks.openai.stats().requests.total).toBe(before)
  })

  it('refuses what needs a store with a 400 naming the field', async () => {
    const err = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'again', previous_response_id: 'resp_123' })
      .catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ code: 'invalid_request', param: 'previous_response_id' })
  })
})
