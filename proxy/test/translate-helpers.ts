import Fastify from 'fastify'
import { expect, it } from 'vitest'
import { SseEvent, SseParser } from '../src/providers/sse.ts'
import type { Json, StreamTranslator } from '../src/providers/types.ts'

/** A chat.completion.chunk as the upstream sends it. */
export function chunk(delta: Json, finish: string | null = null, extra: Json = {}): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'up-model',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...extra,
  })
}

export function usageChunk(prompt: number, completion: number, details: Json = {}): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'up-model',
    choices: [],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      ...details,
    },
  })
}

/** Feeds the upstream `data:` payloads to a translator; returns the bytes it emitted, one per event. */
export function run(translator: StreamTranslator, payloads: string[]): Buffer[] {
  const out: Buffer[] = []
  const parser = new SseParser()
  for (const data of payloads) {
    for (const event of parser.push(Buffer.from(`data: ${data}\n\n`))) translator.translate(event, out)
  }
  return out
}

/** The emitted events as objects, each checked to be one whole `event:` + `data:` SSE event. */
export function events(out: Buffer[]): Json[] {
  return out.map((buffer) => {
    const parsed = new SseParser().push(buffer)
    if (parsed.length !== 1 || parsed[0].raw.length !== buffer.length) throw new Error('not one SSE event')
    const payload = JSON.parse(parsed[0].data)
    if (parsed[0].event !== payload.type) throw new Error(`event ${parsed[0].event} carries ${payload.type}`)
    return payload
  })
}

/** A fetch answering every request with these bytes: an SDK parses them as if from its API. */
export function fetchAnswering(body: Buffer[] | Json): typeof fetch {
  return async () => {
    if (!Array.isArray(body)) {
      return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
    }
    const stream = new ReadableStream({
      start(controller) {
        for (const bytes of body) controller.enqueue(new Uint8Array(bytes))
        controller.close()
      },
    })
    return new Response(stream, { headers: { 'content-type': 'text/event-stream' } })
  }
}

/**
 * Validates bodies with fastify's own ajv, as a route would: the path of the error the proxy
 * reports (the first; a missing property appended), or undefined when the body is valid.
 */
export async function validator(schema: object): Promise<(body: Json) => Promise<string | undefined>> {
  // The options of buildApp (src/app.ts): bodies are validated as sent, first error only.
  const app = Fastify({
    ajv: {
      customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false },
    },
  })
  app.post('/', { schema: { body: schema }, attachValidation: true }, async (req) => {
    const first: { instancePath: string; params: { missingProperty?: string } } | undefined =
      req.validationError?.validation[0]
    if (first === undefined) return {}
    const missing = first.params.missingProperty
    return { path: missing ? `${first.instancePath}/${missing}` : first.instancePath }
  })
  await app.ready()
  return async (body) => (await app.inject({ method: 'POST', url: '/', payload: body })).json().path
}

/** A chat completion answering with text and two tool calls. */
export const TOOL_ANSWER: Json = {
  id: 'chatcmpl-abc',
  object: 'chat.completion',
  created: 1,
  model: 'up-model',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: {
    prompt_tokens: 20,
    completion_tokens: 9,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 8 },
    completion_tokens_details: { reasoning_tokens: 2 },
  },
}

/** The same answer as an OpenAI-wire provider streams it: role, text, two tool calls, finish, usage. */
export const TOOL_ANSWER_CHUNKS = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'Let me ' }),
  chunk({ content: 'look.' }),
  chunk({
    tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }],
  }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chunk({
    tool_calls: [
      {
        index: 1,
        id: 'call_2',
        type: 'function',
        function: { name: 'weather', arguments: '{"city":"Rome"}' },
      },
    ],
  }),
  chunk({}, 'tool_calls'),
  usageChunk(20, 9, {
    prompt_tokens_details: { cached_tokens: 8 },
    completion_tokens_details: { reasoning_tokens: 2 },
  }),
  '[DONE]',
]

/** What the proxy relies on from a StreamTranslator reading a chat stream (its `it`s). */
export function streamTranslatorContract(make: () => StreamTranslator): void {
  it('counts answer events: text, tool calls and the finish, not the role, usage or keep-alives', () => {
    const translator = make()
    run(translator, [chunk({ role: 'assistant', content: '' }), usageChunk(1, 0)])
    translator.translate(new SseEvent(Buffer.from(': ping\n\n')), [])
    expect(translator.answerEvents).toBe(0)
    run(translator, TOOL_ANSWER_CHUNKS.slice(1, 8))
    expect(translator.answerEvents).toBe(7)
  })

  it('is done only once [DONE] is translated, with the usage of the usage chunk', () => {
    const translator = make()
    run(translator, TOOL_ANSWER_CHUNKS.slice(0, -1))
    expect(translator.done).toBe(false)
    expect(translator.usage).toEqual({ prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 })
    run(translator, ['[DONE]'])
    expect(translator.done).toBe(true)
  })

  it('records an error chunk without emitting it', () => {
    const translator = make()
    run(translator, [chunk({ content: 'Hi' })])
    const error = { error: { message: 'overloaded', type: 'server_error', code: 'x' } }
    expect(run(translator, [JSON.stringify(error)])).toEqual([])
    expect(translator.error).toEqual({ message: 'overloaded', type: 'server_error', code: 'x', param: null })
    expect(translator.answerEvents).toBe(1)
    expect(translator.done).toBe(false)
  })

  it('refuses a chunk that is not JSON or has no choices', () => {
    expect(() => run(make(), ['{nope'])).toThrow(SyntaxError)
    expect(() => run(make(), ['{"id":"x"}'])).toThrow(SyntaxError)
  })
}
