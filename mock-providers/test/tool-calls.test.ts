import Anthropic from '@anthropic-ai/sdk'
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type MockServer, type ProfileInput, startMockServer, type WireName } from '../src/index.ts'
import { stream } from './helpers.ts'

/** A tool schema as clients build it (zod -> JSON Schema); the mock's arguments must parse with it. */
const Forecast = z.object({
  city: z.string(),
  unit: z.enum(['celsius', 'fahrenheit']),
  days: z.number().int().min(1).max(7),
  hourly: z.boolean(),
  tags: z.array(z.string()),
  location: z.object({ lat: z.number(), lon: z.number(), label: z.string().nullable() }),
  contact: z.email(),
  note: z.string().optional(),
})
const FORECAST_SCHEMA = z.toJSONSchema(Forecast) as Record<string, unknown>
const Lookup = z.object({ query: z.string() })
const LOOKUP_SCHEMA = z.toJSONSchema(Lookup) as Record<string, unknown>

let mock: MockServer | undefined

afterEach(async () => {
  await mock?.close()
  mock = undefined
})

async function start(wire: WireName, profile: ProfileInput | 'zero' = 'zero', seed = 7) {
  mock = await startMockServer({ wire, profile, seed })
  return mock
}

describe('openai SDK: forced tool calls', () => {
  const tools: OpenAI.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_forecast', parameters: FORECAST_SCHEMA } },
    { type: 'function', function: { name: 'lookup', parameters: LOOKUP_SCHEMA } },
  ]
  const params = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
    tools,
  }
  const client = (m: MockServer) => new OpenAI({ apiKey: 'sk-test', baseURL: `${m.url}/v1`, maxRetries: 0 })

  it("tool_choice 'required' calls the first tool: arguments that parse with its schema, tokens as usage", async () => {
    const completion = await client(await start('openai')).chat.completions.create({
      ...params,
      tool_choice: 'required',
    })
    const choice = completion.choices[0]
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBeNull()
    expect(choice.message.refusal).toBeNull()
    const calls = choice.message.tool_calls ?? []
    expect(calls).toHaveLength(1)
    const call = calls[0]
    if (call.type !== 'function') throw new Error('expected a function call')
    expect(call.id).toMatch(/^call_/)
    expect(call.function.name).toBe('get_forecast')
    const args = Forecast.parse(JSON.parse(call.function.arguments))
    expect(args.note).toBeUndefined() // only the required properties
    expect(completion.usage?.completion_tokens).toBe(countTokens(call.function.arguments))
  })

  it('streams the call: id and name first, then the arguments in 2 to 4 pieces, finish_reason tool_calls', async () => {
    const openai = client(await start('openai'))
    const whole = await openai.chat.completions.create({ ...params, tool_choice: 'required' })
    const chunks = []
    for await (const chunk of await openai.chat.completions.create({
      ...params,
      tool_choice: 'required',
      stream: true,
      stream_options: { include_usage: true },
    })) {
      chunks.push(chunk)
    }
    expect(chunks[0].choices[0].delta.role).toBe('assistant')
    const header = chunks[1].choices[0].delta.tool_calls?.[0]
    expect(header).toMatchObject({
      index: 0,
      type: 'function',
      function: { name: 'get_forecast', arguments: '' },
    })
    expect(header?.id).toMatch(/^call_/)
    const pieces = chunks.slice(2).flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
    expect(pieces.length).toBeGreaterThanOrEqual(2)
    expect(pieces.length).toBeLessThanOrEqual(4)
    for (const piece of pieces) expect(piece.index).toBe(0)
    const args = pieces.map((p) => p.function?.arguments ?? '').join('')
    Forecast.parse(JSON.parse(args))
    const first = whole.choices[0].message.tool_calls?.[0]
    expect(first?.type === 'function' && first.function.arguments).toBe(args)
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls')
    expect(chunks[chunks.length - 1].usage?.completion_tokens).toBe(countTokens(args))
  })

  it('a named function in tool_choice is the one called', async () => {
    const completion = await client(await start('openai')).chat.completions.create({
      ...params,
      tool_choice: { type: 'function', function: { name: 'lookup' } },
    })
    const call = completion.choices[0].message.tool_calls?.[0]
    if (call?.type !== 'function') throw new Error('expected a function call')
    expect(call.function.name).toBe('lookup')
    expect(Object.keys(Lookup.parse(JSON.parse(call.function.arguments)))).toEqual(['query'])
  })

  it('answers in text when tool_choice is auto, none or absent: the mock never picks a tool itself', async () => {
    const openai = client(await start('openai'))
    for (const tool_choice of ['auto', 'none', undefined] as const) {
      const completion = await openai.chat.completions.create({ ...params, tool_choice })
      expect(completion.choices[0].finish_reason).toBe('stop')
      expect(completion.choices[0].message.tool_calls).toBeUndefined()
      expect(completion.choices[0].message.content).not.toBe('')
    }
  })

  it('raises BadRequestError (param tool_choice) for a named function that is not in tools', async () => {
    const error = (await client(await start('openai'))
      .chat.completions.create({ ...params, tool_choice: { type: 'function', function: { name: 'nope' } } })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.param).toBe('tool_choice')
    expect(error.type).toBe('invalid_request_error')
    expect(error.message).toMatch(/'nope'/)
  })

  it('raises BadRequestError when tool_choice comes without tools', async () => {
    const error = (await client(await start('openai'))
      .chat.completions.create({ model: params.model, messages: params.messages, tool_choice: 'required' })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.param).toBe('tool_choice')
  })

  it('max_completion_tokens cuts the arguments: finish_reason length, exactly that many tokens', async () => {
    const completion = await client(await start('openai')).chat.completions.create({
      ...params,
      tool_choice: 'required',
      max_completion_tokens: 6,
    })
    const call = completion.choices[0].message.tool_calls?.[0]
    if (call?.type !== 'function') throw new Error('expected a function call')
    expect(completion.choices[0].finish_reason).toBe('length')
    expect(completion.usage?.completion_tokens).toBe(6)
    expect(() => JSON.parse(call.function.arguments)).toThrow()
  })
})

describe('@anthropic-ai/sdk: forced tool use', () => {
  const tools: Anthropic.Tool[] = [
    { name: 'get_forecast', input_schema: FORECAST_SCHEMA as Anthropic.Tool.InputSchema },
    { name: 'lookup', input_schema: LOOKUP_SCHEMA as Anthropic.Tool.InputSchema },
  ]
  const params = {
    model: 'claude-3-5-haiku-latest',
    max_tokens: 1024,
    messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
    tools,
  }
  const client = (m: MockServer) => new Anthropic({ apiKey: 'sk-ant-test', baseURL: m.url, maxRetries: 0 })

  function toolUse(message: Anthropic.Message): Anthropic.ToolUseBlock {
    expect(message.content).toHaveLength(1)
    const block = message.content[0]
    if (block.type !== 'tool_use') throw new Error(`expected a tool_use block, got ${block.type}`)
    return block
  }

  it("tool_choice 'any' uses the first tool: input that parses with its schema, stop_reason tool_use", async () => {
    const message = await client(await start('anthropic')).messages.create({
      ...params,
      tool_choice: { type: 'any' },
    })
    expect(message.stop_reason).toBe('tool_use')
    const block = toolUse(message)
    expect(block.id).toMatch(/^toolu_/)
    expect(block.name).toBe('get_forecast')
    Forecast.parse(block.input)
    expect(message.usage.output_tokens).toBe(countTokens(JSON.stringify(block.input)))
  })

  it('messages.stream().finalMessage() assembles the same input from input_json_delta events', async () => {
    const anthropic = client(await start('anthropic'))
    const whole = await anthropic.messages.create({
      ...params,
      tool_choice: { type: 'tool', name: 'lookup' },
    })
    const final = await anthropic.messages
      .stream({ ...params, tool_choice: { type: 'tool', name: 'lookup' } })
      .finalMessage()
    expect(final.stop_reason).toBe('tool_use')
    const block = toolUse(final)
    expect(block.name).toBe('lookup')
    expect(block.input).toEqual(toolUse(whole).input)
    Lookup.parse(block.input)
    expect(final.usage.output_tokens).toBe(whole.usage.output_tokens)
  })

  it('streams content_block_start tool_use, 2 to 4 input_json_delta events, then message_delta tool_use', async () => {
    const events = []
    for await (const event of await client(await start('anthropic')).messages.create({
      ...params,
      tool_choice: { type: 'any' },
      stream: true,
    })) {
      events.push(event)
    }
    const types = events.map((e) => e.type)
    const deltas = events.filter((e) => e.type === 'content_block_delta')
    expect(deltas.length).toBeGreaterThanOrEqual(2)
    expect(deltas.length).toBeLessThanOrEqual(4)
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      ...Array(deltas.length).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    expect(events[1]).toMatchObject({ content_block: { type: 'tool_use', name: 'get_forecast', input: {} } })
    const json = deltas.map((e) => (e.delta.type === 'input_json_delta' ? e.delta.partial_json : '')).join('')
    Forecast.parse(JSON.parse(json))
    expect(events[events.length - 2]).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { output_tokens: countTokens(json) },
    })
  })

  it('raises BadRequestError in Anthropic shape for a named tool that is not in tools', async () => {
    const error = (await client(await start('anthropic'))
      .messages.create({ ...params, tool_choice: { type: 'tool', name: 'nope' } })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } })
    expect(error.message).toMatch(/'nope'/)
  })

  it('max_tokens cuts the call: stop_reason max_tokens, input holds the properties complete before the cut', async () => {
    const anthropic = client(await start('anthropic'))
    const whole = toolUse(await anthropic.messages.create({ ...params, tool_choice: { type: 'any' } }))
    const cut = await anthropic.messages.create({ ...params, max_tokens: 12, tool_choice: { type: 'any' } })
    expect(cut.stop_reason).toBe('max_tokens')
    expect(cut.usage.output_tokens).toBe(12)
    const input = toolUse(cut).input as Record<string, unknown>
    const kept = Object.keys(input)
    expect(kept.length).toBeGreaterThan(0)
    expect(kept.length).toBeLessThan(Object.keys(whole.input as object).length)
    for (const key of kept) expect(input[key]).toEqual((whole.input as Record<string, unknown>)[key])
  })
})

describe('tool-call streams under latency and faults', () => {
  const CHAT_TOOL = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [{ type: 'function', function: { name: 'get_forecast', parameters: FORECAST_SCHEMA } }],
    tool_choice: 'required',
    stream: true,
  }

  it('cut: the stream ends after N events (role, call header, first piece), without [DONE]', async () => {
    const m = await start('openai', { name: 'cut', faults: [{ type: 'cut', after_chunks: 3, rate: 1 }] })
    const result = await stream(m.url, '/v1/chat/completions', CHAT_TOOL)
    expect(result.data).toHaveLength(3)
    expect(JSON.parse(result.data[2]).choices[0].delta.tool_calls[0].function.arguments).not.toBe('')
    expect(result.error).toBeInstanceOf(Error)
  })

  it('stream_error: the Anthropic SDK sees the error event in place of an input_json_delta', async () => {
    const m = await start('anthropic', {
      name: 'broken',
      faults: [{ type: 'stream_error', at_chunk: 4, status: 529, message: 'Overloaded', rate: 1 }],
    })
    const anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: m.url, maxRetries: 0 })
    const error = await anthropic.messages
      .stream({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 1024,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [{ name: 'lookup', input_schema: LOOKUP_SCHEMA as Anthropic.Tool.InputSchema }],
        tool_choice: { type: 'any' },
      })
      .finalMessage()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect((error as Error).message).toMatch(/Overloaded/)
  })

  it('duplicate: an arguments piece sent twice, so a client that concatenates gets broken JSON', async () => {
    const m = await start('openai', { name: 'dup', faults: [{ type: 'duplicate', at_chunk: 3, rate: 1 }] })
    const result = await stream(m.url, '/v1/chat/completions', CHAT_TOOL)
    expect(result.data[3]).toBe(result.data[2])
    const args = result.data
      .slice(0, -1)
      .map((d) => JSON.parse(d).choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '')
      .join('')
    expect(() => JSON.parse(args)).toThrow()
  })
})
