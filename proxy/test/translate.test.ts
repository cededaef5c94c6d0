import { describe, expect, it } from 'vitest'
import { AnthropicStream } from '../src/providers/anthropic-stream.ts'
import {
  anthropicErrorBody,
  toAnthropicRequest,
  toOpenAICompletion,
} from '../src/providers/anthropic-translate.ts'
import { SseParser } from '../src/providers/sse.ts'

describe('OpenAI -> Anthropic request', () => {
  it('moves system turns out, merges consecutive roles and maps parameters', () => {
    const out = toAnthropicRequest(
      {
        model: 'alias',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'No lists.' }] },
          { role: 'user', content: 'Hi' },
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }],
          },
          { role: 'tool', tool_call_id: 't1', content: 'result' },
        ],
        max_completion_tokens: 55,
        temperature: 1.6,
        stop: 'END',
        stream: true,
        user: 'u-1',
        tools: [
          { type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } },
        ],
        tool_choice: 'required',
      },
      'claude-x',
      4096,
    )
    expect(out).toEqual({
      model: 'claude-x',
      max_tokens: 55,
      system: 'Be brief.\n\nNo lists.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hi' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { x: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'result' }] },
      ],
      temperature: 1,
      stop_sequences: ['END'],
      stream: true,
      metadata: { user_id: 'u-1' },
      tools: [{ name: 'f', description: 'd', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any' },
    })
  })

  it('uses the provider default when max_tokens is absent', () => {
    expect(toAnthropicRequest({ messages: [{ role: 'user', content: 'x' }] }, 'm', 321).max_tokens).toBe(321)
  })
})

describe('Anthropic -> OpenAI answers', () => {
  it('translates a message with text and a tool call', () => {
    const completion = toOpenAICompletion(
      {
        id: 'msg_1',
        type: 'message',
        model: 'claude-x',
        content: [
          { type: 'text', text: 'Hello' },
          { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 10, output_tokens: 4, cache_read_input_tokens: 2 },
      },
      1700000000,
    )
    expect(completion).toEqual({
      id: 'msg_1',
      object: 'chat.completion',
      created: 1700000000,
      model: 'claude-x',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Hello',
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
          },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
    })
  })

  it('translates the event sequence of a stream into OpenAI chunks', () => {
    const events = [
      [
        'message_start',
        {
          type: 'message_start',
          message: { id: 'msg_1', model: 'claude-x', usage: { input_tokens: 7, output_tokens: 1 } },
        },
      ],
      [
        'content_block_start',
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      ],
      ['ping', { type: 'ping' }],
      [
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
      ],
      [
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } },
      ],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      [
        'message_delta',
        { type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 2 } },
      ],
      ['message_stop', { type: 'message_stop' }],
    ] as const
    const text = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join('')
    const stream = new AnthropicStream(true, 1)
    const out: Buffer[] = []
    for (const event of new SseParser().push(Buffer.from(text))) stream.translate(event, out)
    const lines = out.map((b) => b.toString())
    expect(lines.at(-1)).toBe('data: [DONE]\n\n')
    const chunks = lines.slice(0, -1).map((l) => JSON.parse(l.slice('data: '.length)))
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hel' },
      { content: 'lo' },
      {},
      null,
    ])
    expect(chunks[3].choices[0].finish_reason).toBe('length')
    expect(chunks[4].usage).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 })
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === 'msg_1')).toBe(true)
    expect(stream.done).toBe(true)
  })

  it('maps Anthropic errors, keeping context length recognisable', () => {
    const body = Buffer.from(
      JSON.stringify({
        type: 'error',
        error: {
          type: 'invalid_request_error',
          message: 'prompt is too long: 300000 tokens > 200000 maximum',
        },
      }),
    )
    expect(anthropicErrorBody(400, body)).toEqual({
      message: 'prompt is too long: 300000 tokens > 200000 maximum',
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
      param: null,
    })
    expect(anthropicErrorBody(529, Buffer.from('<html>'))).toMatchObject({ message: 'provider answered 529' })
  })
})
