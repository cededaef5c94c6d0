import Anthropic from '@anthropic-ai/sdk'
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type MockServer, startMockServer } from '../src/index.ts'

let mock: MockServer
let client: Anthropic

beforeEach(async () => {
  mock = await startMockServer({ wire: 'anthropic', profile: 'zero', seed: 7 })
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: mock.url, maxRetries: 0 })
})

afterEach(async () => {
  await mock.close()
})

const params = {
  model: 'claude-3-5-haiku-latest',
  max_tokens: 1024,
  system: 'You are terse.',
  messages: [{ role: 'user' as const, content: 'Describe a proxy in one paragraph.' }],
}

function textOf(message: Anthropic.Message): string {
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')
}

describe('@anthropic-ai/sdk against mock-anthropic', () => {
  it('parses a non-streaming message whose usage matches its text', async () => {
    const message = await client.messages.create(params)
    expect(message.type).toBe('message')
    expect(message.role).toBe('assistant')
    expect(message.stop_reason).toBe('end_turn')
    const text = textOf(message)
    expect(text.length).toBeGreaterThan(0)
    expect(message.usage.output_tokens).toBe(countTokens(text))
    expect(message.usage.input_tokens).toBe(
      3 + 8 + countTokens(params.system) + countTokens(params.messages[0].content),
    )
  })

  it('streams the documented event sequence with stream: true', async () => {
    const whole = await client.messages.create(params)
    const stream = await client.messages.create({ ...params, stream: true })
    const types: string[] = []
    let text = ''
    let outputTokens = -1
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text
      if (event.type === 'message_delta') outputTokens = event.usage.output_tokens
    }
    const deltas = types.filter((t) => t === 'content_block_delta').length
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      ...Array(deltas).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    expect(text).toBe(textOf(whole))
    expect(outputTokens).toBe(countTokens(text))
  })

  it('gives messages.stream().finalMessage() the full text, max_tokens stop and usage', async () => {
    const final = await client.messages.stream({ ...params, max_tokens: 6 }).finalMessage()
    expect(final.stop_reason).toBe('max_tokens')
    expect(final.usage.output_tokens).toBe(6)
    expect(countTokens(textOf(final))).toBe(6)
    expect(final.usage.input_tokens).toBeGreaterThan(0)
  })

  it('lists the models in Anthropic shape, paging with limit and after_id', async () => {
    const ids = []
    for await (const model of client.models.list({ limit: 1 })) ids.push(model.id)
    expect(ids).toEqual(['claude-3-5-haiku-latest', 'claude-sonnet-4'])
    const page = await client.models.list({ limit: 1 })
    expect(page.has_more).toBe(true)
    expect(page.first_id).toBe('claude-3-5-haiku-latest')
    expect(page.last_id).toBe('claude-3-5-haiku-latest')
  })

  it('raises NotFoundError with a not_found_error body for an unknown model', async () => {
    const error = (await client.messages
      .create({ ...params, model: 'claude-nope' })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>
    expect(error).toBeInstanceOf(Anthropic.NotFoundError)
    expect(error.status).toBe(404)
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } })
  })

  it('raises AuthenticationError when the profile requires a key the client does not have', async () => {
    mock.setProfile({ name: 'locked', auth: { required: true, keys: ['sk-ant-right'] } })
    const error = await client.messages.create(params).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError)
    const allowed = new Anthropic({ apiKey: 'sk-ant-right', baseURL: mock.url, maxRetries: 0 })
    expect((await allowed.messages.create(params)).type).toBe('message')
  })
})
