import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import type { Json } from '../src/providers/types.ts'
import { ClientInputError } from '../src/translate/errors.ts'
import { chatCompletionToResponse, type ResponseIds } from '../src/translate/responses-answer.ts'
import { responsesToChatRequest } from '../src/translate/responses-request.ts'
import { ChatToResponsesStream } from '../src/translate/responses-stream.ts'
import {
  chunk,
  events,
  fetchAnswering,
  run,
  streamTranslatorContract,
  TOOL_ANSWER,
  TOOL_ANSWER_CHUNKS,
} from './translate-helpers.ts'

const weather = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }

/** Ids as a counter: resp_1, then item_1, item_2... in the order they are asked for. */
function counterIds(): ResponseIds {
  let items = 0
  let responses = 0
  return { response: () => `resp_${++responses}`, item: () => `item_${++items}` }
}

describe('Responses request -> chat request', () => {
  it('translates instructions, message and function items, tools and parameters', () => {
    const out = responsesToChatRequest({
      model: 'gpt-x',
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'No lists.' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'Weather here and in Rome?' },
            { type: 'input_image', image_url: 'https://img/here.png', detail: 'low' },
          ],
        },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        {
          type: 'message',
          id: 'msg_1',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Checking.', annotations: [] }],
        },
        { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_2', name: 'weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'rain' }] },
      ],
      tools: [
        { type: 'function', name: 'weather', description: 'By city', parameters: weather, strict: true },
      ],
      tool_choice: { type: 'function', name: 'weather' },
      max_output_tokens: 200,
      temperature: 0.3,
      top_p: 0.8,
      stream: true,
      store: true,
      user: 'u-1',
      metadata: { team: 'a' },
      parallel_tool_calls: false,
      text: { format: { type: 'json_schema', name: 'answer', schema: weather, strict: true } },
    })
    expect(out).toEqual({
      model: 'gpt-x',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: 'No lists.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather here and in Rome?' },
            { type: 'image_url', image_url: { url: 'https://img/here.png', detail: 'low' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'call_2', content: 'rain' },
      ],
      max_tokens: 200,
      temperature: 0.3,
      top_p: 0.8,
      user: 'u-1',
      metadata: { team: 'a' },
      parallel_tool_calls: false,
      tools: [
        {
          type: 'function',
          function: { name: 'weather', description: 'By city', parameters: weather, strict: true },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: weather, strict: true },
      },
      stream: true,
      stream_options: { include_usage: true },
    })
  })

  it('takes a string input as one user message', () => {
    expect(responsesToChatRequest({ model: 'm', input: 'hi' })).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
    })
  })

  it('opens an assistant turn for function calls that follow no assistant message', () => {
    const out = responsesToChatRequest({
      model: 'm',
      input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' }],
    })
    expect(out.messages).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
    ])
  })

  it('answers what needs storage or hosted tools with a client error naming the param', () => {
    const refusal = (body: Json): ClientInputError => {
      try {
        responsesToChatRequest({ model: 'm', input: 'hi', ...body })
      } catch (error) {
        if (error instanceof ClientInputError) return error
        throw error
      }
      throw new Error(`accepted ${JSON.stringify(body)}`)
    }
    const cases: [Json, string, RegExp][] = [
      [
        { previous_response_id: 'resp_0' },
        'previous_response_id',
        /not supported by this proxy.*whole conversation/,
      ],
      [{ conversation: 'conv_1' }, 'conversation', /not supported by this proxy/],
      [{ background: true }, 'background', /not supported by this proxy/],
      [{ prompt: { id: 'pmpt_1' } }, 'prompt', /not supported by this proxy/],
      [
        { tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] },
        'tools[1].type',
        /web_search tools are not supported by this proxy/,
      ],
      [
        { tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'file_search' } },
        'tool_choice',
        /not supported/,
      ],
      [{ input: [{ type: 'item_reference', id: 'msg_0' }] }, 'input[0]', /not supported by this proxy/],
      [
        { input: [{ type: 'computer_call_output', call_id: 'c', output: {} }] },
        'input[0].type',
        /computer_call_output/,
      ],
      [
        { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1', detail: 'auto' }] }] },
        'input[0].content[0].image_url',
        /file_id/,
      ],
    ]
    for (const [body, param, message] of cases) {
      const error = refusal(body)
      expect(error.param, JSON.stringify(body)).toBe(param)
      expect(error.message).toMatch(message)
    }
  })
})

const request: Json = {
  model: 'gpt-x',
  input: 'Weather in Paris and Rome?',
  tools: [{ type: 'function', name: 'weather', parameters: weather, strict: true }],
  temperature: 0.2,
  user: 'u-1',
}

const functionCall = (id: string, call_id: string, city: string) => ({
  type: 'function_call',
  id,
  call_id,
  name: 'weather',
  arguments: `{"city":"${city}"}`,
  status: 'completed',
})

const response = {
  id: 'resp_1',
  object: 'response',
  created_at: 1700000000,
  status: 'completed',
  background: false,
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  metadata: {},
  model: 'gpt-x',
  output: [
    {
      type: 'message',
      id: 'item_1',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Let me look.', annotations: [] }],
    },
    functionCall('item_2', 'call_1', 'Paris'),
    functionCall('item_3', 'call_2', 'Rome'),
  ],
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: null,
  temperature: 0.2,
  text: { format: { type: 'text' } },
  tool_choice: 'auto',
  tools: request.tools,
  top_p: null,
  truncation: 'disabled',
  usage: {
    input_tokens: 20,
    input_tokens_details: { cached_tokens: 8 },
    output_tokens: 9,
    output_tokens_details: { reasoning_tokens: 2 },
    total_tokens: 29,
  },
  user: 'u-1',
  access_programs: null,
}

describe('chat completion -> Response', () => {
  it('translates text and tool calls into output items, with the usage and the request echoed', () => {
    expect(chatCompletionToResponse(TOOL_ANSWER, request, counterIds(), 1700000000)).toEqual(response)
  })

  it('is incomplete when the answer was cut by max_output_tokens', () => {
    const cut = { choices: [{ message: { content: 'Once upon' }, finish_reason: 'length' }] }
    const answer = chatCompletionToResponse(cut, { model: 'm', max_output_tokens: 2 }, counterIds(), 1)
    expect(answer).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      max_output_tokens: 2,
      output: [{ type: 'message', status: 'incomplete', content: [{ text: 'Once upon' }] }],
      usage: null,
    })
  })
})

describe('chat stream -> Responses stream', () => {
  it('emits the typed response.* events, numbered in sequence', () => {
    const out = events(run(new ChatToResponsesStream(request, counterIds(), 1700000000), TOOL_ANSWER_CHUNKS))
    expect(out.map((e) => e.sequence_number)).toEqual(out.map((_, i) => i))
    const inProgress = { ...response, status: 'in_progress', output: [], usage: null }
    const text = { item_id: 'item_1', output_index: 0, content_index: 0 }
    const args = (type: string, item_id: string, output_index: number, value: string) => ({
      type: `response.function_call_arguments.${type}`,
      item_id,
      output_index,
      [type === 'delta' ? 'delta' : 'arguments']: value,
    })
    const opened = (id: string, call: string) => ({
      ...functionCall(id, call, ''),
      arguments: '',
      status: 'in_progress',
    })
    const part = (t: string) => ({ type: 'output_text', text: t, annotations: [] })
    const message = (content: Json[], status: string) => ({ ...response.output[0], content, status })
    expect(out.map(({ sequence_number, ...event }) => event)).toEqual([
      { type: 'response.created', response: inProgress },
      { type: 'response.in_progress', response: inProgress },
      { type: 'response.output_item.added', output_index: 0, item: message([], 'in_progress') },
      { type: 'response.content_part.added', ...text, part: part('') },
      { type: 'response.output_text.delta', ...text, delta: 'Let me ', logprobs: [] },
      { type: 'response.output_text.delta', ...text, delta: 'look.', logprobs: [] },
      { type: 'response.output_text.done', ...text, text: 'Let me look.', logprobs: [] },
      { type: 'response.content_part.done', ...text, part: part('Let me look.') },
      { type: 'response.output_item.done', output_index: 0, item: response.output[0] },
      { type: 'response.output_item.added', output_index: 1, item: opened('item_2', 'call_1') },
      args('delta', 'item_2', 1, '{"city":'),
      args('delta', 'item_2', 1, '"Paris"}'),
      args('done', 'item_2', 1, '{"city":"Paris"}'),
      { type: 'response.output_item.done', output_index: 1, item: response.output[1] },
      { type: 'response.output_item.added', output_index: 2, item: opened('item_3', 'call_2') },
      args('delta', 'item_3', 2, '{"city":"Rome"}'),
      args('done', 'item_3', 2, '{"city":"Rome"}'),
      { type: 'response.output_item.done', output_index: 2, item: response.output[2] },
      { type: 'response.completed', response },
    ])
  })

  it("is read by the openai SDK's responses.stream() as the Response the non-streamed answer gives", async () => {
    const streamed = new OpenAI({
      apiKey: 'k',
      maxRetries: 0,
      fetch: fetchAnswering(
        run(new ChatToResponsesStream(request, counterIds(), 1700000000), TOOL_ANSWER_CHUNKS),
      ),
    })
    const stream = streamed.responses.stream(request)
    const deltas: string[] = []
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta))
    const final = await stream.finalResponse()
    const plain = new OpenAI({
      apiKey: 'k',
      maxRetries: 0,
      fetch: fetchAnswering(chatCompletionToResponse(TOOL_ANSWER, request, counterIds(), 1700000000)),
    })
    // parse(), as stream() does, adds the parsed arguments of strict tools to both.
    const answered = await plain.responses.parse(request)
    expect(final).toEqual(answered)
    expect(final.output_text).toBe('Let me look.')
    expect(deltas).toEqual(['Let me ', 'look.'])
  })

  it('ends with response.incomplete when the answer was cut by max_output_tokens', async () => {
    const out = run(new ChatToResponsesStream({ model: 'm' }, counterIds(), 1), [
      chunk({ content: 'Once upon' }),
      chunk({}, 'length'),
      '[DONE]',
    ])
    const client = new OpenAI({ apiKey: 'k', maxRetries: 0, fetch: fetchAnswering(out) })
    const final = await client.responses.stream({ model: 'm', input: 'x' }).finalResponse()
    expect(final).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      output: [{ type: 'message', status: 'incomplete' }],
      output_text: 'Once upon',
    })
    expect(events(out).at(-1).type).toBe('response.incomplete')
  })
})

describe('ChatToResponsesStream as a StreamTranslator', () => {
  streamTranslatorContract(() => new ChatToResponsesStream({ model: 'm' }, counterIds(), 1))
})
