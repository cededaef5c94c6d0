import { describe, expect, it } from 'vitest'
import { carriesAnswer, parseChatChunk } from '../src/providers/chat-wire.ts'
import { ContentTemplate } from '../src/providers/chunk-template.ts'
import { createOpenAIAdapter } from '../src/providers/openai.ts'
import { SseParser } from '../src/providers/sse.ts'
import type { ChatRequest } from '../src/providers/types.ts'

// A streamed chunk shaped like the stream's first text chunk is forwarded without a full parse
// (providers/chunk-template.ts). Whatever the text, the template must say yes only to a chunk the
// full parse accepts as a chat.completion.chunk carrying text, and should say yes to every such one.

const chunk = (content: string, extra = '') =>
  `{"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1796065901,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":${content}},"logprobs":null,"finish_reason":null}]${extra}}`

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
  const template = ContentTemplate.of(first, parseChatChunk(first))!

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
    for (const data of none) expect(ContentTemplate.of(data, parseChatChunk(data))).toBeUndefined()
    // A field before the content that holds the same characters is not taken for it.
    const decoy = first.replace('"model":"gpt-4o-mini"', '"model":"x\\"content\\":\\"y"')
    const t = ContentTemplate.of(decoy, parseChatChunk(decoy))!
    expect(t.matches(decoy.replace('" Hello"', '" there"'))).toBe(true)
    expect(t.matches(decoy.replace('"x\\"content', '"z\\"content'))).toBe(false)
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
      expect(template.matches(data), JSON.stringify(body)).toBe(expected)
      if (expected) yes++
    }
    expect(yes).toBeGreaterThan(2_000) // the fast path is taken, not just refused
  })

  it('refuses anything else the same length or shape: other heads, tails, truncations', () => {
    const next = chunk('" world"')
    expect(template.matches(next)).toBe(true)
    expect(template.matches(next.replace('"finish_reason":null', '"finish_reason":"stop"'))).toBe(false)
    expect(template.matches(next.replace('chatcmpl-9x', 'chatcmpl-9y'))).toBe(false)
    expect(template.matches(next.replace('"finish_reason":null}', '"finish_reason":nul1}'))).toBe(false)
    expect(template.matches(next.slice(0, Math.floor(next.length / 2)))).toBe(false)
    expect(template.matches(`${next} `)).toBe(false)
    expect(template.matches(chunk('" a" , "b"'))).toBe(false)
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

  function run(events: string[]) {
    const translator = adapter.dialects.chat!.streamTranslator!(request, {} as never)
    const parser = new SseParser()
    const out: Buffer[] = []
    for (const e of parser.push(Buffer.from(events.map((d) => `data: ${d}\n\n`).join(''))))
      translator.translate(e, out)
    return { translator, out: Buffer.concat(out).toString() }
  }

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
})
