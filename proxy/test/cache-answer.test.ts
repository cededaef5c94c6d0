import { describe, expect, it } from 'vitest'
import { answerFromRecord, answerFromStream, completionFromEvents } from '../src/cache/answer.ts'
import { Codec } from '../src/cache/codec.ts'
import { StreamFlight } from '../src/cache/flights.ts'
import { KeyMemo } from '../src/cache/key-memo.ts'
import { sseReplay } from '../src/cache/replay.ts'
import { EventPacker, packEvents, unpackEvents } from '../src/cache/sse-pack.ts'
import { SSE_DONE } from '../src/providers/sse.ts'

const HEAD = '"id":"chatcmpl-1","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini"'
const event = (choices: string, extra = '') =>
  Buffer.from(`data: {${HEAD},"choices":[${choices}]${extra}}\n\n`)
const text = (t: string, index = 0) =>
  event(`{"index":${index},"delta":{"content":${JSON.stringify(t)}},"logprobs":null,"finish_reason":null}`)
const role = event(
  '{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}',
)
const finish = event('{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}')
const usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }
const usageEvent = event('', `,"usage":${JSON.stringify(usage)}`)
const origin = { provider: 'p', model: 'gpt-4o-mini', storedAt: 1, condensed: null }

describe('packed stream events', () => {
  it('give back the exact bytes, however they are cut', () => {
    const texts = ['Hello', ',', ' world', ' world', '', 'é\u{1F600}', ' "quoted"\\n']
    const chunks = [role, ...texts.map((t) => text(t)), finish]
    const whole = Buffer.concat(chunks)
    // One chunk an event, a run of events in one chunk, events cut across chunks.
    const cuts = [chunks, [whole], [whole.subarray(0, 100), whole.subarray(100, 777), whole.subarray(777)]]
    for (const cut of cuts) expect(unpackEvents(packEvents(cut)).equals(whole)).toBe(true)
    // Arbitrary bytes too: lines without the blank line, lone line feeds, CRLF framing, nothing.
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed
    }
    for (let round = 0; round < 200; round++) {
      const bytes = Buffer.from(
        Array.from({ length: random() % 600 }, () => ' a\n\r{'.charCodeAt(random() % 5)),
      )
      const pieces = [bytes.subarray(0, random() % (bytes.length + 1))]
      pieces.push(bytes.subarray(pieces[0].length))
      expect(unpackEvents(packEvents(pieces)).equals(bytes)).toBe(true)
    }
    expect(unpackEvents(packEvents([])).length).toBe(0)
  })

  it('are packed alike by one packer answer after answer, long and short, its scratch grown and reused', () => {
    const packer = new EventPacker()
    const answers = [300, 3, 1000, 64, 0].map((n) => [
      role,
      ...Array.from({ length: n }, (_, i) => text(` w${i % 7}`)),
      finish,
    ])
    for (const chunks of answers) {
      const packed = packer.pack(chunks)
      expect(packed.equals(packEvents(chunks))).toBe(true)
      expect(unpackEvents(packed).equals(Buffer.concat(chunks))).toBe(true)
    }
  })

  it('store what repeats from one event to the next once: 64 text events pack to a tenth of their size or less', () => {
    const chunks = [role, ...Array.from({ length: 64 }, (_, i) => text(` token${i}`)), finish]
    const whole = Buffer.concat(chunks)
    const packed = packEvents(chunks)
    expect(packed.length).toBeLessThan(whole.length / 10)
    expect(
      unpackEvents(packed, [usageEvent, SSE_DONE]).equals(Buffer.concat([whole, usageEvent, SSE_DONE])),
    ).toBe(true)
  })

  it('refuse bytes that are not a packing instead of answering garbage', () => {
    const packed = packEvents([role, text('a'), text('b')])
    expect(() => unpackEvents(packed.subarray(0, packed.length - 2))).toThrow(RangeError)
    const wrongLength = Buffer.from(packed)
    wrongLength[0] += 1 // the events' total length
    expect(() => unpackEvents(wrongLength)).toThrow(RangeError)
    expect(() => unpackEvents(Buffer.from([0x05, 0x01, 0x03, 0x00, 0x02, 0x61, 0x62]))).toThrow(RangeError)
  })
})

describe('a streamed answer in the cache', () => {
  const chunks = [role, Buffer.concat([text('Hel'), text('lo')]), finish, usageEvent, SSE_DONE]

  it('keeps the chunks the client was sent, the usage chunk apart, [DONE] left out, nothing parsed', () => {
    const answer = answerFromStream(chunks, 3, usage, origin)!
    expect(answer.body.length).toBe(0)
    expect(answer.usageEvent.equals(usageEvent)).toBe(true)
    expect(answer.usage).toEqual(usage)
    expect(unpackEvents(answer.packedEvents).equals(Buffer.concat(chunks.slice(0, 3)))).toBe(true)
    expect(answerFromStream([SSE_DONE], -1, undefined, origin)).toBeUndefined()
  })

  it('is replayed with the usage chunk only for a client that asked, and answers a plain request with the folded completion', () => {
    const codec = new Codec({
      compress: true,
      algorithm: 'gzip',
      level: 6,
      thresholdBytes: 64,
      format: 'msgpack',
    })
    const stored = answerFromRecord(
      codec.decode(codec.encode(answerFromStream(chunks, 3, usage, origin)).record),
    )
    expect(sseReplay(stored, false).toString()).toBe(
      Buffer.concat([...chunks.slice(0, 3), SSE_DONE]).toString(),
    )
    expect(sseReplay(stored, true).toString()).toBe(Buffer.concat(chunks).toString())
    expect(JSON.parse(stored.body.toString())).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1760000000,
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
    })
  })

  it('folds choices, tool calls and refusals from their deltas', () => {
    const events = Buffer.concat([
      event('{"index":1,"delta":{"role":"assistant","content":"B"},"finish_reason":null}'),
      event(
        '{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_","arguments":"{\\"ci"}}]},"finish_reason":null}',
      ),
      event(
        '{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"weather","arguments":"ty\\":1}"}}]}}',
      ),
      event('{"index":1,"delta":{"refusal":"no"},"finish_reason":"stop"}'),
      event('{"index":0,"delta":{},"finish_reason":"tool_calls"}'),
    ])
    const completion = JSON.parse(completionFromEvents(events, null).toString())
    expect(completion.usage).toBeUndefined()
    expect(completion.choices.map((c: { index: number }) => c.index)).toEqual([0, 1])
    expect(completion.choices[0].message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":1}' } },
    ])
    expect(completion.choices[0].finish_reason).toBe('tool_calls')
    expect(completion.choices[1].message).toEqual({ role: 'assistant', content: 'B', refusal: 'no' })
  })
})

describe("a flight's usage chunk", () => {
  it('is found by its first event, never inside a run of text events', () => {
    const flight = new StreamFlight(false)
    flight.write(role)
    // A run whose later text mentions the pattern (escaped, as JSON strings are) is not it.
    flight.write(Buffer.concat([text('a'), text('"choices":[]')]))
    // Nor an event whose choices hold text that looks empty, or a run ending in an empty choice list.
    flight.write(text('[]'))
    flight.write(Buffer.concat([text('b'), usageEvent]))
    expect(flight.usageIndex).toBe(-1)
    flight.write(usageEvent)
    flight.write(SSE_DONE)
    expect(flight.usageIndex).toBe(4)
    // A provider writing the usage before the choices.
    const first = new StreamFlight(false)
    first.write(text('a'))
    first.write(Buffer.from(`data: {${HEAD},"usage":${JSON.stringify(usage)},"choices":[]}\n\n`))
    expect(first.usageIndex).toBe(1)
  })
})

describe('a stream flight', () => {
  it('lets its log go once its call is over and no client reads it, not before', () => {
    const joined = new StreamFlight(false)
    joined.join()
    joined.join()
    joined.writeAll([role, text('a'), finish])
    joined.end(undefined)
    joined.finish()
    // Two clients still reading: the log stays.
    expect(joined.chunks.length).toBe(3)
    joined.leave()
    expect(joined.chunks.length).toBe(3)
    joined.leave()
    expect(joined.chunks).toEqual([])
    // The last client gone before the call is over (and stored): kept until then.
    const left = new StreamFlight(true)
    left.join()
    left.write(role)
    left.leave()
    expect(left.chunks.length).toBe(1)
    left.end(undefined)
    left.finish()
    expect(left.chunks).toEqual([])
  })
})

describe('the key memo', () => {
  it('remembers the key of a body only once told its answer was found', () => {
    const memo = new KeyMemo(64 * 1024)
    const body = Buffer.from('{"model":"m","messages":[]}')
    let computed = 0
    const compute = () => `key-${++computed}`
    expect(memo.key(body, compute)).toBe('key-1')
    expect(memo.key(body, compute)).toBe('key-2') // a miss is not remembered
    memo.remember(body, 'key-2')
    expect(memo.key(body, compute)).toBe('key-2')
    expect(memo.key(body, compute, 'messages')).toBe('key-3') // another API's space
    expect(computed).toBe(3)
  })
})
