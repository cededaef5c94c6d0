import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type MockServer, startMockServer } from '../src/index.ts'

let mock: MockServer
let client: OpenAI

beforeEach(async () => {
  mock = await startMockServer({ wire: 'openai', profile: 'zero', seed: 7 })
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${mock.url}/v1`, maxRetries: 0 })
})

afterEach(async () => {
  await mock.close()
})

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Describe a proxy in one paragraph.' },
]

describe('openai SDK against mock-openai', () => {
  it('parses a non-streaming chat completion whose usage matches its text', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages })
    const choice = completion.choices[0]
    expect(completion.object).toBe('chat.completion')
    expect(choice.message.role).toBe('assistant')
    expect(choice.finish_reason).toBe('stop')
    const text = choice.message.content ?? ''
    expect(completion.usage?.completion_tokens).toBe(countTokens(text))
    // 3 for the reply, 4 per message, plus each message's text
    expect(completion.usage?.prompt_tokens).toBe(
      3 + 8 + countTokens('You are terse.') + countTokens(messages[1].content),
    )
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + countTokens(text))
  })

  it('streams the same text with include_usage: role first, finish_reason, a usage chunk with no choices', async () => {
    const whole = await client.chat.completions.create({ model: 'gpt-4o-mini', messages })
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks[0].choices[0].delta.role).toBe('assistant')
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
    expect(text).toBe(whole.choices[0].message.content)
    const finish = chunks.find((c) => c.choices[0]?.finish_reason)
    expect(finish?.choices[0].finish_reason).toBe('stop')
    const last = chunks[chunks.length - 1]
    expect(last.choices).toEqual([])
    expect(last.usage?.completion_tokens).toBe(countTokens(text))
    expect(last.usage?.prompt_tokens).toBe(whole.usage?.prompt_tokens)
  })

  it('stops at max_completion_tokens with finish_reason length', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      max_completion_tokens: 5,
    })
    expect(completion.choices[0].finish_reason).toBe('length')
    expect(completion.usage?.completion_tokens).toBe(5)
    expect(countTokens(completion.choices[0].message.content ?? '')).toBe(5)
  })

  it('lists the models of the profile', async () => {
    const ids = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toEqual(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'])
  })

  it('returns deterministic unit embeddings, base64 (the SDK default) and float alike', async () => {
    const viaBase64 = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['alpha', 'beta'],
    })
    const viaFloat = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['alpha', 'beta'],
      encoding_format: 'float',
    })
    expect(viaBase64.data).toHaveLength(2)
    const a = Array.from(viaBase64.data[0].embedding)
    expect(a).toHaveLength(1536)
    expect(Math.hypot(...a)).toBeCloseTo(1, 4)
    expect(a).toEqual(viaFloat.data[0].embedding)
    expect(viaBase64.data[1].embedding).not.toEqual(viaBase64.data[0].embedding)
    expect(viaBase64.usage.prompt_tokens).toBe(countTokens('alpha') + countTokens('beta'))
    const small = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'alpha',
      dimensions: 8,
    })
    expect(small.data[0].embedding).toHaveLength(8)
  })

  it('raises NotFoundError with code model_not_found for an unknown model', async () => {
    const error = await client.chat.completions
      .create({ model: 'gpt-nope', messages })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(404)
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found')
  })

  it('raises RateLimitError carrying Retry-After and retry-after-ms', async () => {
    mock.setProfile({ name: 'limited', faults: [{ type: 'rate_limit', retry_after: '2500ms', rate: 1 }] })
    const error = (await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error.code).toBe('rate_limit_exceeded')
    expect(error.headers?.get('retry-after')).toBe('3')
    expect(error.headers?.get('retry-after-ms')).toBe('2500')
  })

  it('raises BadRequestError context_length_exceeded when the prompt exceeds the context window', async () => {
    mock.setProfile({ name: 'tiny', models: { openai: [{ id: 'gpt-4o-mini', context_window: 10 }] } })
    const error = (await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.code).toBe('context_length_exceeded')
    expect(error.param).toBe('messages')
    expect(error.type).toBe('invalid_request_error')
  })

  it('raises AuthenticationError (401 invalid_api_key) when the profile requires another key', async () => {
    mock.setProfile({ name: 'locked', auth: { required: true, keys: ['sk-right'] } })
    const error = (await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(error.code).toBe('invalid_api_key')
    const allowed = new OpenAI({ apiKey: 'sk-right', baseURL: `${mock.url}/v1`, maxRetries: 0 })
    expect((await allowed.chat.completions.create({ model: 'gpt-4o-mini', messages })).object).toBe(
      'chat.completion',
    )
  })

  it('honours retry-after-ms when the SDK is allowed to retry', async () => {
    mock.setProfile({ name: 'once', faults: [{ type: 'rate_limit', retry_after: '20ms', on_requests: [1] }] })
    const retrying = new OpenAI({ apiKey: 'sk-test', baseURL: `${mock.url}/v1`, maxRetries: 1 })
    const completion = await retrying.chat.completions.create({ model: 'gpt-4o-mini', messages })
    expect(completion.choices[0].finish_reason).toBe('stop')
    expect(mock.stats().requests.by_route.chat).toEqual({ '200': 1, '429': 1 })
  })
})
