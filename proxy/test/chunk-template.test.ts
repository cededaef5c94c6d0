import { describe, expect, it } from 'vitest'
import { carriesAnswer, parseChatChunk } from '../src/providers/chat-wire.ts'
import { ContentTemplate } from '../src/providers/chunk-template.ts'
import { createOpenAIAdapter } from '../src/providers/openai.ts'
import { SseParser, type SseReader } from '../src/providers/sse.ts'
import type { ChatRequest } from '../src/providers/types.ts'

// A streamed chunk shaped like the stream's first text chunk is forwarded without a full parse
// (providers/chunk-template.ts). Whatever the text, the template must say yes only to a chunk the
// full parse accepts as a chat.completion.chunk carrying text, and should say yes to every such one.

const chunk = (content: string, extra = '') =>
  `{"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1796065901,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":${content}},"logprobs":null,"finish_reason":null}]${extra}}`

/** The chunk as one event of the stream. */
const event = (data: string) => Buffer.from(`data: ${data}\n\n`)
const PING = Buffer.from(': ping\n\n')
const learn = (data: string) => ContentTemplate.of(event(data), data, parseChatChunk(data))

/** What the full path concludes: valid, a chunk with choices, no usage, no error, carrying text. */
function fullVerdict(data: string): boolean {
  try {
    const c = parseChatChunk(data)
    return !c.error && !c.usage && carriesAnswer(c.choices)
  } catch {
    return false
  }
}

function seeded(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('ContentTemplate', () => {
  const first = chunk('" Hello"')
  const template = learn(first)!

  it('is learned from a plain text chunk only', () => {
    expect(template).toBeDefined()
    const none = [
      chunk('""'), // no text
      first.replace('{"content":" Hello"}', '{"role":"assistant","content":""}'),
      first.replace('"finish_reason":null', '"finish_reason":"stop"'),
      chunk('" Hi"', ',"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}'),
      first.replace('{"content":" Hello"}', '{"content":" Hi","tool_calls":[]}'),
      first.replace('"choices":[{', '"choices":[{"index":1,"delta":{"content":"x"}},{'),
    ]
    for (const data of none) expect(learn(data)).toBeUndefined()
    // A field before the content that holds the same characters is not taken for it.
    const decoy = first.replace('"model":"gpt-4o-mini"', '"model":"x\\"content\\":\\"y"')
    const t = learn(decoy)!
    expect(t.matches(event(decoy.replace('" Hello"', '" there"')))).toBe(true)
    expect(t.matches(event(decoy.replace('"x\\"content', '"z\\"content')))).toBe(false)
  })

  it('says yes exactly when the full parse accepts a text chunk, over 20,000 seeded texts', () => {
    const random = seeded(13)
    const pieces = [
      'a',
      ' ',
      'é',
      '😀',
      '\ud800',
      '"',
      '\\',
      '\\"',
      '\\\\',
      '\\n',
      '\\u00e9',
      '\\u00g9',
      '\\u12',
      '\\x',
      '/',
      '\\/',
      '\n',
      '\t',
      '\u0000',
      '\u001f',
      '\u007f',
      '\u2028',
      '}',
      ']',
      '",',
      'null',
    ]
    let yes = 0
    for (let i = 0; i < 20_000; i++) {
      let body = ''
      const n = Math.floor(random() * 6)
      for (let k = 0; k < n; k++) body += pieces[Math.floor(random() * pieces.length)]
      const data = chunk(`"${body}"`)
      const expected = fullVerdict(data)
      expect(template.matches(event(data)), JSON.stringify(body)).toBe(expected)
      // Found in a stream, between other events: where it ends, or not at all.
      const stream = Buffer.concat([PING, event(data), event(first)])
      const end = expected ? PING.length + event(data).length : -1
      expect(template.endAt(stream, PING.length), JSON.stringify(body)).toBe(end)
      if (expected) yes++
    }
    expect(yes).toBeGreaterThan(2_000) // the fast path is taken, not just refused
  })

  it('refuses anything else the same length or shape: other heads, tails, truncations', () => {
    const next = chunk('" world"')
    expect(template.matches(event(next))).toBe(true)
    expect(template.matches(event(next.replace('"finish_reason":null', '"finish_reason":"stop"')))).toBe(
      false,
    )
    expect(template.matches(event(next.replace('chatcmpl-9x', 'chatcmpl-9y')))).toBe(false)
    expect(template.matches(event(next.replace('"finish_reason":null}', '"finish_reason":nul1}')))).toBe(
      false,
    )
    expect(template.matches(event(next.slice(0, Math.floor(next.length / 2))))).toBe(false)
    expect(template.matches(event(`${next} `))).toBe(false)
    expect(template.matches(event(chunk('" a" , "b"')))).toBe(false)
  })
})

describe('an OpenAI stream read through the template', () => {
  const adapter = createOpenAIAdapter({
    name: 'p',
    wire: 'openai',
    base_url: 'http://127.0.0.1:9/v1',
  } as never)
  const request = {
    body: { model: 'm', messages: [] },
    raw: Buffer.from('{}'),
    stream: true,
    includeUsage: false,
  } as unknown as ChatRequest

  function run(events: string[], frame = (d: string) => `data: ${d}\n\n`) {
    return runBytes(Buffer.from(events.map(frame).join('')))
  }

  /** The stream as the proxy reads it: text events like the first are recognised on their bytes. */
  function runBytes(bytes: Buffer, pieces: readonly Buffer[] = [bytes]) {
    const translator = adapter.dialects.chat!.streamTranslator!(request, {} as never)
    const parser = new SseParser()
    const out: Buffer[] = []
    let runs = 0
    const reader: SseReader<Buffer[]> = {
      translate(e, o) {
        if (e.known > 0) runs++
        translator.translate(e, o)
      },
      knownEnd: (buf, at) => translator.knownEnd!(buf, at),
    }
    for (const piece of pieces) parser.feed(piece, reader, out)
    return { translator, runs, bytes: Buffer.concat(out), out: Buffer.concat(out).toString() }
  }

  /** The same, every event framed and read one by one (no event recognised on its bytes in a run). */
  function runOneByOne(pieces: readonly Buffer[]) {
    const translator = adapter.dialects.chat!.streamTranslator!(request, {} as never)
    const parser = new SseParser()
    const out: Buffer[] = []
    for (const piece of pieces) for (const e of parser.push(piece)) translator.translate(e, out)
    return { translator, bytes: Buffer.concat(out) }
  }

  it('gives the same bytes and counts whether texts are recognised in runs or read one by one, however the stream is split', () => {
    const texts = ['" Hel"', '"lo"', '", \\"world\\""', '" \\u00e9"', '" é😀"', '"\\n"', '" a"', '" b"']
    const role = chunk('""').replace('{"content":""}', '{"role":"assistant","content":""}')
    const usage = `{"id":"chatcmpl-9x","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":8,"total_tokens":11}}`
    const finish = chunk('null').replace('"finish_reason":null', '"finish_reason":"stop"')
    const events = [role, ...texts.map((t) => chunk(t)), finish, usage, '[DONE]']
    const bytes = Buffer.from(events.map((d) => `data: ${d}\n\n`).join(''))
    const whole = runBytes(bytes)
    expect(whole.runs).toBe(1) // every text after the first, in one run
    expect(whole.translator.answerEvents).toBe(texts.length + 1)
    for (let i = 1; i < bytes.length; i += 5) {
      for (let j = i + 1; j < bytes.length; j += 97) {
        const pieces = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]
        const runs = runBytes(bytes, pieces)
        const oneByOne = runOneByOne(pieces)
        expect(runs.bytes.equals(oneByOne.bytes), `cut at ${i}, ${j}`).toBe(true)
        expect(runs.translator.answerEvents).toBe(oneByOne.translator.answerEvents)
        expect(runs.translator.usage).toEqual(oneByOne.translator.usage)
        expect(runs.translator.done).toBe(true)
      }
    }
    // Everything is forwarded as it came but the usage chunk, which this client did not ask for.
    const forwarded = events.filter((d) => d !== usage).map((d) => `data: ${d}\n\n`)
    expect(whole.out).toBe(forwarded.join(''))
  })

  it("reads the counts of a usage chunk shaped like the stream's own chunks on its bytes, and parses any other", () => {
    const first = chunk('" Hi"')
    const prefix = first.slice(0, first.indexOf('"choices":[') + '"choices":['.length)
    const shaped = (usage: string, end = '}') => `${prefix}],"usage":${usage}${end}`
    const finish = chunk('null').replace('"finish_reason":null', '"finish_reason":"stop"')
    const counts = '{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}'
    const detailed =
      '{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":2}}'
    const cases: [string, unknown][] = [
      [shaped(counts), { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 }],
      [shaped(detailed), { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 }],
      [
        shaped('{"prompt_tokens":1,"completion_tokens":2}'),
        { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      ],
      // Another id: not this stream's shape, parsed, with the same counts.
      [
        shaped(counts).replace('chatcmpl-9x', 'chatcmpl-8y'),
        { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 },
      ],
    ]
    // On its bytes: the template reads the stream's own shape, and nothing it cannot vouch for.
    const template = learn(first)!
    expect(template.usageOf(event(shaped(counts)))).toEqual(cases[0][1])
    expect(template.usageOf(event(shaped(detailed)))).toEqual(cases[1][1])
    for (const other of [
      shaped(counts).replace('chatcmpl-9x', 'chatcmpl-8y'),
      shaped('{"prompt_tokens": 12,"completion_tokens":34}'),
      shaped(counts, '}}'),
      shaped(counts, ',"error":{"message":"x"}}'),
      first,
    ])
      expect(template.usageOf(event(other))).toBeUndefined()
    for (const framed of [`data:${shaped(counts)}\n\n`, `data: ${shaped(counts)}\r\n\r\n`])
      expect(template.usageOf(Buffer.from(framed))).toBeUndefined()
    for (const [usage, expected] of cases) {
      const { translator, out } = run([first, finish, usage, '[DONE]'])
      expect(translator.usage).toEqual(expected)
      expect(out).toBe(`data: ${first}\n\ndata: ${finish}\n\ndata: [DONE]\n\n`) // the usage chunk is not forwarded
    }
    // Bytes that only look like it are parsed, and fail the stream as a parse would.
    // Valid JSON the bytes cannot vouch for (spaces, a leading zero) is parsed: the same counts.
    for (const usage of [
      '{"prompt_tokens": 12, "completion_tokens": 34}',
      '{"prompt_tokens":12,"completion_tokens":34,"x":1.5}',
    ])
      expect(run([first, finish, shaped(usage), '[DONE]']).translator.usage).toEqual({
        prompt_tokens: 12,
        completion_tokens: 34,
        total_tokens: 46,
      })
    expect(() =>
      run([first, finish, shaped('{"prompt_tokens":012,"completion_tokens":1}'), '[DONE]']),
    ).toThrow(SyntaxError)
    for (const broken of [
      shaped('{"prompt_tokens":1,"completion_tokens":2}', '}}'),
      shaped('{"prompt_tokens":1,', ''),
    ])
      expect(() => run([first, finish, broken, '[DONE]'])).toThrow(SyntaxError)
    // An error in it is the provider's failure, reported, never read as counts.
    const withError = shaped(counts, ',"error":{"message":"quota","type":"server_error"}}')
    const failed = run([first, finish, withError, '[DONE]']).translator
    expect(failed.error?.message).toBe('quota')
    // A client that asked for usage gets the chunk as it came.
    const asked = adapter.dialects.chat!.streamTranslator!({ ...request, includeUsage: true }, {} as never)
    const out: Buffer[] = []
    for (const e of new SseParser().push(
      Buffer.from([first, shaped(counts)].map((d) => `data: ${d}\n\n`).join('')),
    ))
      asked.translate(e, out)
    expect(Buffer.concat(out).toString()).toContain('"usage":{"prompt_tokens":12')
    expect(asked.usage).toEqual({ prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 })
  })

  it('forwards every chunk and counts every text, parsed or not', () => {
    const texts = ['" Hel"', '"lo"', '", \\"world\\""', '" \\u00e9"']
    const { translator, out } = run([
      chunk('""').replace('{"content":""}', '{"role":"assistant","content":""}'),
      ...texts.map((t) => chunk(t)),
      chunk('null').replace('"finish_reason":null', '"finish_reason":"stop"'),
      '[DONE]',
    ])
    expect(translator.answerEvents).toBe(texts.length + 1)
    expect(translator.done).toBe(true)
    expect(out.match(/^data: /gm)).toHaveLength(7)
  })

  it('still fails the stream on a malformed chunk after the template is learned', () => {
    for (const broken of [chunk('" a\u0001"'), chunk('" a"b"'), chunk('" a\\"'), chunk('" a"').slice(0, 60)])
      expect(() => run([chunk('" first"'), chunk('" second"'), broken])).toThrow(SyntaxError)
  })

  it('reads a stream framed any other way in full, with the same outcome', () => {
    const texts = ['" one"', '" two"', '" three"']
    const framings = [
      (d: string) => `data: ${d}\r\n\r\n`,
      (d: string) => `data:${d}\n\n`,
      (d: string) => `event: message\ndata: ${d}\n\n`,
    ]
    for (const frame of framings) {
      const events = [...texts.map((t) => chunk(t)), '[DONE]']
      const { translator, out } = run(events, frame)
      expect(translator.answerEvents).toBe(texts.length)
      expect(translator.done).toBe(true)
      expect(out).toBe(events.slice(0, -1).map(frame).join('') + 'data: [DONE]\n\n')
      expect(() => run([chunk('" first"'), chunk('" second"'), chunk('" a\u0001"')], frame)).toThrow(
        SyntaxError,
      )
    }
  })

  it('forwards a text whose bytes are not valid UTF-8 as they came, as the full parse accepts it', () => {
    const [head, tail] = chunk('"@"').split('@') as [string, string]
    const odd = Buffer.concat([
      Buffer.from(`data: ${head}`),
      Buffer.from([0xff, 0xc3]),
      Buffer.from(`${tail}\n\n`),
    ])
    const first = Buffer.from(`data: ${chunk('" first"')}\n\n`)
    const { translator, bytes } = runBytes(Buffer.concat([first, first, odd]))
    expect(translator.answerEvents).toBe(3)
    expect(bytes.equals(Buffer.concat([first, first, odd]))).toBe(true)
  })
})
