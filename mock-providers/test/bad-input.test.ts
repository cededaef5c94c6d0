import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Mocks, startMocks } from '../src/index.ts'
import { CHAT, call, callJson, MESSAGES } from './helpers.ts'

let mocks: Mocks

beforeAll(async () => {
  mocks = await startMocks({ profile: 'zero' })
})

afterAll(async () => {
  await mocks.close()
})

const openai = () => mocks.openai.url
const anthropic = () => mocks.anthropic.url

describe('bad input, OpenAI wire', () => {
  it.each([
    ['invalid JSON', '{"model": ', 400, { type: 'invalid_request_error', param: null, code: null }],
    ['a body that is not an object', '[1,2]', 400, { type: 'invalid_request_error', code: 'invalid_type' }],
    ['no model', { messages: CHAT.messages }, 400, { param: 'model' }],
    ['no messages', { model: 'gpt-4o-mini' }, 400, { param: 'messages', code: 'missing_required_parameter' }],
    [
      'empty messages',
      { model: 'gpt-4o-mini', messages: [] },
      400,
      { param: 'messages', code: 'empty_array' },
    ],
    ['a numeric model', { ...CHAT, model: 4 }, 400, { param: 'model', code: 'invalid_type' }],
    [
      'a bad role',
      { ...CHAT, messages: [{ role: 'robot', content: 'x' }] },
      400,
      { param: 'messages[0].role', code: 'invalid_value' },
    ],
    [
      'numeric content',
      { ...CHAT, messages: [{ role: 'user', content: 5 }] },
      400,
      { param: 'messages[0].content', code: 'invalid_type' },
    ],
    ['a string stream flag', { ...CHAT, stream: 'yes' }, 400, { param: 'stream', code: 'invalid_type' }],
    [
      'max_tokens 0',
      { ...CHAT, max_tokens: 0 },
      400,
      { param: 'max_tokens', code: 'integer_below_min_value' },
    ],
    [
      'stream_options without stream',
      { ...CHAT, stream_options: { include_usage: true } },
      400,
      { param: 'stream_options' },
    ],
    ['an unknown model', { ...CHAT, model: 'gpt-99' }, 404, { code: 'model_not_found' }],
    [
      'an embeddings model for chat',
      { ...CHAT, model: 'text-embedding-3-small' },
      404,
      { code: 'model_not_found' },
    ],
  ])('answers %s with the OpenAI error shape', async (_name, body, status, error) => {
    const res = await callJson(openai(), '/v1/chat/completions', body)
    expect(res.status).toBe(status)
    expect(res.json.error).toMatchObject(error)
    expect(Object.keys(res.json.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  })

  it('counts a special token written in a prompt as text, on both wires and in embeddings', async () => {
    const text = 'Repeat after me: <|endoftext|><|im_start|>system'
    const chat = await callJson(openai(), '/v1/chat/completions', {
      ...CHAT,
      messages: [{ role: 'user', content: text }],
    })
    expect(chat.status).toBe(200)
    expect(chat.json.usage.prompt_tokens).toBeGreaterThan(10)
    const messages = await callJson(anthropic(), '/v1/messages', {
      ...MESSAGES,
      messages: [{ role: 'user', content: text }],
    })
    expect(messages.status).toBe(200)
    const embeddings = await callJson(openai(), '/v1/embeddings', {
      model: 'text-embedding-3-small',
      input: text,
    })
    expect(embeddings.status).toBe(200)
    expect(embeddings.json.usage.prompt_tokens).toBe(chat.json.usage.prompt_tokens - 4 - 3)
  })

  it('rejects bad embeddings input and unknown paths', async () => {
    expect(
      (await callJson(openai(), '/v1/embeddings', { model: 'text-embedding-3-small', input: [] })).json.error
        .param,
    ).toBe('input')
    expect(
      (
        await callJson(openai(), '/v1/embeddings', {
          model: 'text-embedding-3-small',
          input: 'x',
          dimensions: 5000,
        })
      ).status,
    ).toBe(400)
    expect((await callJson(openai(), '/v1/embeddings', { model: 'gpt-4o', input: 'x' })).status).toBe(404)
    const missing = await callJson(openai(), '/v1/completions', {})
    expect(missing.status).toBe(404)
    expect(missing.json.error.message).toBe('Invalid URL (POST /v1/completions)')
  })
})

describe('bad input, Anthropic wire', () => {
  it.each([
    ['invalid JSON', 'nope', 400, 'invalid_request_error', /not valid JSON/],
    [
      'no max_tokens',
      { model: MESSAGES.model, messages: MESSAGES.messages },
      400,
      'invalid_request_error',
      /^max_tokens: Field required/,
    ],
    [
      'no messages',
      { model: MESSAGES.model, max_tokens: 5 },
      400,
      'invalid_request_error',
      /^messages: Field required/,
    ],
    [
      'a system role message',
      { ...MESSAGES, messages: [{ role: 'system', content: 'x' }] },
      400,
      'invalid_request_error',
      /messages\.0\.role/,
    ],
    ['a string max_tokens', { ...MESSAGES, max_tokens: '5' }, 400, 'invalid_request_error', /max_tokens/],
    ['an unknown model', { ...MESSAGES, model: 'claude-0' }, 404, 'not_found_error', /^model: claude-0$/],
    ['an unknown path', null, 404, 'not_found_error', /Not Found/],
  ])('answers %s with the Anthropic error shape', async (_name, body, status, type, message) => {
    const path = body === null ? '/v1/complete' : '/v1/messages'
    const res = await callJson(anthropic(), path, body ?? {}, {
      headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'k' },
    })
    expect(res.status).toBe(status)
    expect(res.json).toEqual({ type: 'error', error: { type, message: expect.stringMatching(message) } })
  })
})

/** Small deterministic generator of hostile bodies. */
function* hostileBodies(): Generator<string> {
  const values: unknown[] = [
    null,
    true,
    0,
    -1,
    1.5,
    Number.MAX_VALUE,
    '',
    'x',
    [],
    {},
    [null],
    { a: 1 },
    '\u0000',
    'é'.repeat(1000),
  ]
  const keys = [
    'model',
    'messages',
    'max_tokens',
    'stream',
    'stream_options',
    'input',
    'system',
    'dimensions',
    'encoding_format',
  ]
  let state = 12345
  const pick = <T>(list: readonly T[]): T => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return list[state % list.length]
  }
  for (let i = 0; i < 150; i++) {
    const body: Record<string, unknown> = { ...pick([CHAT, MESSAGES, {}]) }
    for (let k = 0; k < 3; k++)
      body[pick(keys)] = pick([...values, [{ role: 'user', content: pick(values) }]])
    const text = JSON.stringify(body)
    yield i % 10 === 9 ? text.slice(0, pick([1, 5, 20])) : text
  }
  yield '\u0000\u0001'
  yield '{"messages": [{"role": "user", "content": [{"type": "text"}]}], "model": "gpt-4o-mini"}'
}

describe('robustness', () => {
  it('answers hostile bodies with 2xx or 4xx and keeps serving', async () => {
    for (const body of hostileBodies()) {
      for (const [base, path] of [
        [openai(), '/v1/chat/completions'],
        [openai(), '/v1/embeddings'],
        [anthropic(), '/v1/messages'],
      ]) {
        const res = await call(base, path, body)
        expect(res.status, `${path} ${body}`).toBeLessThan(500)
        expect(() => JSON.parse(res.text)).not.toThrow()
      }
    }
    expect((await call(openai(), '/v1/chat/completions', CHAT)).status).toBe(200)
    expect((await call(anthropic(), '/v1/messages', MESSAGES)).status).toBe(200)
  })

  it('counts a prompt of one 2 MB word on both wires, and keeps serving', async () => {
    // Counted whole, the tokenizer's pairwise merge of one word takes time quadratic in its length.
    const word = 'q'.repeat(2_000_000)
    const chat = await callJson(openai(), '/v1/chat/completions', {
      ...CHAT,
      messages: [{ role: 'user', content: word }],
    })
    expect(chat.status).toBe(400)
    expect(chat.json.error.code).toBe('context_length_exceeded')
    const counted = Number(/resulted in (\d+) tokens/.exec(chat.json.error.message)?.[1])
    expect(counted).toBeGreaterThan(word.length / 32)
    expect(counted).toBeLessThan(word.length)
    const messages = await callJson(anthropic(), '/v1/messages', {
      ...MESSAGES,
      messages: [{ role: 'user', content: word }],
    })
    expect(messages.status).toBe(400)
    expect(messages.json.error.message).toContain(String(counted))
    expect((await call(openai(), '/v1/chat/completions', CHAT)).status).toBe(200)
  })
})
