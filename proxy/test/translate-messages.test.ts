import Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { chatCompletionToMessage } from '../src/translate/messages-answer.ts'
import { messagesToChatRequest } from '../src/translate/messages-request.ts'
import { ChatToMessagesStream } from '../src/translate/messages-stream.ts'
import {
  chunk,
  events,
  fetchAnswering,
  run,
  streamTranslatorContract,
  TOOL_ANSWER,
  TOOL_ANSWER_CHUNKS,
} from './translate-helpers.ts'

const weather = { type: 'object', properties: { city: { type: 'string' } } }

describe('Anthropic Messages request -> chat request', () => {
  it('translates system, tool_use and tool_result turns, tools and parameters', () => {
    const out = messagesToChatRequest({
      model: 'claude-x',
      max_tokens: 300,
      system: [
        { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'No lists.' },
      ],
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'two cities', signature: 'sig' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
            { type: 'text', text: 'Also, is this Rome?' },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_2',
              content: [
                { type: 'text', text: 'rain' },
                { type: 'image', source: { type: 'url', url: 'https://img/rome.png' } },
              ],
            },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
            {
              type: 'document',
              title: 'Forecast',
              source: { type: 'text', media_type: 'text/plain', data: 'Rain all week.' },
            },
          ],
        },
      ],
      tools: [
        {
          name: 'weather',
          description: 'Weather by city',
          input_schema: weather,
          cache_control: { type: 'ephemeral' },
        },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
      ],
      tool_choice: { type: 'tool', name: 'weather', disable_parallel_tool_use: true },
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END'],
      stream: true,
      metadata: { user_id: 'u-1' },
      thinking: { type: 'enabled', budget_tokens: 1024 },
    })
    expect(out).toEqual({
      model: 'claude-x',
      messages: [
        { role: 'system', content: 'Be brief.\n\nNo lists.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'toolu_2', content: 'rain' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Also, is this Rome?' },
            { type: 'image_url', image_url: { url: 'https://img/rome.png' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
            { type: 'text', text: 'Forecast\n\nRain all week.' },
          ],
        },
      ],
      max_tokens: 300,
      temperature: 0.5,
      top_p: 0.9,
      stop: ['END'],
      stream: true,
      stream_options: { include_usage: true },
      user: 'u-1',
      tools: [
        {
          type: 'function',
          function: { name: 'weather', description: 'Weather by city', parameters: weather },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      parallel_tool_calls: false,
    })
  })

  it('refuses content chat cannot carry, naming the block, rather than answer without it', () => {
    const ask = (content: unknown[]) =>
      messagesToChatRequest({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content }] })
    const pdf = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } }
    expect(() => ask([{ type: 'text', text: 'Summarise it.' }, pdf])).toThrow(
      /^messages\[0\]\.content\[1\]: a document whose source is "base64" cannot be sent/,
    )
    expect(() => ask([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }])).toThrow(/"file"/)
    expect(() => ask([{ type: 'search_result', content: [] }])).toThrow(/a "search_result" block/)
    expect(() => ask([])).toThrow(/messages\[0\]\.content: a user turn needs content/)
  })

  it('maps each tool_choice and leaves none out when there are no tools', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }]
    const choice = (type: string) =>
      messagesToChatRequest({ model: 'm', max_tokens: 1, messages: [], tools, tool_choice: { type } })
        .tool_choice
    expect([choice('auto'), choice('any'), choice('none')]).toEqual(['auto', 'required', 'none'])
    const bare = messagesToChatRequest({
      model: 'm',
      max_tokens: 1,
      messages: [],
      tool_choice: { type: 'none' },
    })
    expect(bare).not.toHaveProperty('tool_choice')
    expect(bare).not.toHaveProperty('tools')
  })

  it('sends an assistant turn made only of tool calls with null content, and no stream options unasked', () => {
    const out = messagesToChatRequest({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }],
    })
    expect(out.messages).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
    ])
    expect(out).not.toHaveProperty('stream_options')
  })
})

const message = {
  id: 'msg_abc',
  type: 'message',
  role: 'assistant',
  model: 'claude-x',
  content: [
    { type: 'text', text: 'Let me look.' },
    { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'call_2', name: 'weather', input: { city: 'Rome' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  stop_details: null,
  container: null,
  diagnostics: null,
  usage: { input_tokens: 12, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 8 },
}

describe('chat completion -> Anthropic message', () => {
  it('translates text and tool calls, the stop reason and the usage', () => {
    expect(chatCompletionToMessage(TOOL_ANSWER, 'claude-x')).toEqual(message)
  })

  it('maps every finish reason and takes the id it is given', () => {
    const reasons = ['stop', 'length', 'tool_calls', 'content_filter', null].map((finish_reason) => {
      const answer = chatCompletionToMessage(
        { choices: [{ message: { content: 'x' }, finish_reason }] },
        'm',
        'msg_given',
      )
      expect(answer.id).toBe('msg_given')
      return answer.stop_reason
    })
    expect(reasons).toEqual(['end_turn', 'max_tokens', 'tool_use', 'refusal', 'end_turn'])
  })

  it('names tool calls sent without an id, and keeps unparsable arguments as text', () => {
    const answer = chatCompletionToMessage(
      {
        id: 'chatcmpl-z',
        choices: [{ message: { tool_calls: [{ function: { name: 'f', arguments: 'oops' } }] } }],
      },
      'm',
    )
    expect(answer.content).toEqual([
      { type: 'tool_use', id: 'toolu_z_0', name: 'f', input: { _raw: 'oops' } },
    ])
  })
})

describe('chat stream -> Anthropic stream', () => {
  it('emits the full Anthropic event sequence', () => {
    const out = run(new ChatToMessagesStream('claude-x', 'msg_abc'), TOOL_ANSWER_CHUNKS)
    const start = { type: 'content_block_start' }
    expect(events(out)).toEqual([
      {
        type: 'message_start',
        message: {
          id: 'msg_abc',
          type: 'message',
          role: 'assistant',
          model: 'claude-x',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          container: null,
          diagnostics: null,
          usage: {
            input_tokens: 0,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        },
      },
      { ...start, index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me ' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'look.' } },
      { type: 'content_block_stop', index: 0 },
      { ...start, index: 1, content_block: { type: 'tool_use', id: 'call_1', name: 'weather', input: {} } },
      {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '{"city":' },
      },
      {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '"Paris"}' },
      },
      { type: 'content_block_stop', index: 1 },
      { ...start, index: 2, content_block: { type: 'tool_use', id: 'call_2', name: 'weather', input: {} } },
      {
        type: 'content_block_delta',
        index: 2,
        delta: { type: 'input_json_delta', partial_json: '{"city":"Rome"}' },
      },
      { type: 'content_block_stop', index: 2 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null, stop_details: null, container: null },
        usage: {
          input_tokens: 12,
          output_tokens: 9,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 8,
        },
      },
      { type: 'message_stop' },
    ])
  })

  it("is read by the Anthropic SDK's messages.stream() as the message the non-streamed answer gives", async () => {
    const out = run(new ChatToMessagesStream('claude-x', 'msg_abc'), TOOL_ANSWER_CHUNKS)
    const client = new Anthropic({ apiKey: 'k', fetch: fetchAnswering(out), maxRetries: 0 })
    const stream = client.messages.stream({
      model: 'claude-x',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    })
    const texts: string[] = []
    stream.on('text', (delta) => texts.push(delta))
    const { parsed_output, ...final } = await stream.finalMessage()
    expect(final).toEqual(chatCompletionToMessage(TOOL_ANSWER, 'claude-x'))
    expect(parsed_output).toBeNull()
    expect(texts).toEqual(['Let me ', 'look.'])
  })

  it('and by messages.create() when not streamed', async () => {
    const client = new Anthropic({ apiKey: 'k', fetch: fetchAnswering(message), maxRetries: 0 })
    const answer = await client.messages.create({
      model: 'claude-x',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(answer.content[1]).toMatchObject({ type: 'tool_use', input: { city: 'Paris' } })
  })
})

describe('ChatToMessagesStream as a StreamTranslator', () => {
  streamTranslatorContract(() => new ChatToMessagesStream('m', 'msg_1'))

  it('still sends a whole message for an upstream that ended at once', () => {
    const types = events(run(new ChatToMessagesStream('m', 'msg_1'), ['[DONE]'])).map((e) => e.type)
    expect(types).toEqual(['message_start', 'message_delta', 'message_stop'])
  })

  it('sends a late fragment of a closed tool call to its own block, not to a new one', async () => {
    const call = (index: number, fn: object) => chunk({ tool_calls: [{ index, function: fn }] })
    const out = run(new ChatToMessagesStream('m', 'msg_1'), [
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'b', function: { name: 'g', arguments: '{}' } }] }),
      call(0, { arguments: '1}' }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ])
    expect(events(out).filter((e) => e.type === 'content_block_delta')).toEqual([
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"x":' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '1}' } },
    ])
    const client = new Anthropic({ apiKey: 'k', fetch: fetchAnswering(out), maxRetries: 0 })
    const final = await client.messages.stream({ model: 'm', max_tokens: 9, messages: [] }).finalMessage()
    expect(final.content.map((block) => block.type === 'tool_use' && block.input)).toEqual([{ x: 1 }, {}])
  })
})
