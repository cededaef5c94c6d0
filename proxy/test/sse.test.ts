import { describe, expect, it } from 'vitest'
import { SseParser } from '../src/providers/sse.ts'

describe('SSE framing', () => {
  it('yields whole events only, however the bytes are split', () => {
    const text = 'data: {"a":1}\n\nevent: message_stop\ndata: {"b":2}\n\n: ping\n\ndata: [DONE]\n\n'
    const bytes = Buffer.from(text)
    for (let cut = 1; cut < bytes.length; cut++) {
      const parser = new SseParser()
      const events = [...parser.push(bytes.subarray(0, cut)), ...parser.push(bytes.subarray(cut))]
      expect(events.map((e) => [e.event, e.data])).toEqual([
        ['', '{"a":1}'],
        ['message_stop', '{"b":2}'],
        ['', ''],
        ['', '[DONE]'],
      ])
      expect(Buffer.concat(events.map((e) => e.raw)).toString()).toBe(text)
      expect(parser.pendingBytes).toBe(0)
    }
  })

  it('handles CRLF line endings and multi-line data', () => {
    const parser = new SseParser()
    const [event] = parser.push(Buffer.from('event: x\r\ndata: one\r\ndata: two\r\n\r\n'))
    expect(event.event).toBe('x')
    expect(event.data).toBe('one\ntwo')
  })

  it('keeps a partial trailing event pending', () => {
    const parser = new SseParser()
    expect(parser.push(Buffer.from('data: {"a":1}\n\ndata: {"par'))).toHaveLength(1)
    expect(parser.pendingBytes).toBe('data: {"par'.length)
  })
})
