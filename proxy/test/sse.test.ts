import { describe, expect, it } from 'vitest'
import { EventTooLarge, type SseEvent, SseParser, type SseReader } from '../src/providers/sse.ts'

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

describe('SSE fields', () => {
  /** The fields as the SSE specification reads them (lines split at LF, a CR before it dropped). */
  function spec(text: string): { event: string; data: string } {
    let event = ''
    const data: string[] = []
    for (const raw of text.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      let value = colon === -1 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'data') data.push(value)
      else if (field === 'event') event = value
    }
    return { event, data: data.join('\n') }
  }

  it('reads every field the way the specification does, one data line or several, over 5,000 seeded events', () => {
    let state = 7
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0
      return state / 2 ** 32
    }
    const pieces = [
      'data',
      'data:',
      'data: ',
      'event: ',
      ':',
      ' ',
      'x',
      '{"a":1}',
      '\r',
      '\r\n',
      '\n',
      'é',
      '😀',
      '[DONE]',
    ]
    for (let i = 0; i < 5_000; i++) {
      let body = random() < 0.5 ? 'data: ' : ''
      const n = Math.floor(random() * 6)
      for (let k = 0; k < n; k++) body += pieces[Math.floor(random() * pieces.length)]
      // One event: no blank line inside it.
      const text = `${body.replace(/\r?\n(\r?\n)+/g, '\n')}\n\n`
      const events = new SseParser().push(Buffer.from(text))
      if (events.length !== 1) continue
      const [event] = events as [SseEvent]
      expect({ event: event.event, data: event.data }, JSON.stringify(text)).toEqual(spec(text))
    }
  })
})

describe('SSE framing with a reader that recognises events on their bytes', () => {
  // A toy reader: it knows `data: k\n\n` events without reading them, and reads everything else.
  const KNOWN = Buffer.from('data: k\n\n')
  function read(pieces: readonly Buffer[], maxEventBytes?: number) {
    const parser = new SseParser(maxEventBytes)
    const seen: { raw: string; known: number; data?: string }[] = []
    const reader: SseReader<typeof seen> = {
      translate: (e, out) =>
        out.push(
          e.known > 0
            ? { raw: e.raw.toString(), known: e.known }
            : { raw: e.raw.toString(), known: 0, data: e.data },
        ),
      knownEnd: (buf, at) =>
        buf.compare(KNOWN, 0, KNOWN.length, at, Math.min(buf.length, at + KNOWN.length)) === 0
          ? at + KNOWN.length
          : -1,
    }
    for (const piece of pieces) parser.feed(piece, reader, seen)
    return { seen, pending: parser.pendingBytes }
  }

  it('hands events side by side that it knows as runs, the others one by one, however the bytes are split', () => {
    const text = 'data: k\n\ndata: k\n\ndata: 1\n\ndata: k\n\ndata: k\n\ndata: k\n\n: ping\n\ndata: k\n\n'
    const bytes = Buffer.from(text)
    expect(read([bytes]).seen).toEqual([
      { raw: 'data: k\n\ndata: k\n\n', known: 2 },
      { raw: 'data: 1\n\n', known: 0, data: '1' },
      { raw: 'data: k\n\ndata: k\n\ndata: k\n\n', known: 3 },
      { raw: ': ping\n\n', known: 0, data: '' },
      { raw: 'data: k\n\n', known: 1 },
    ])
    for (let i = 1; i < bytes.length - 1; i++) {
      for (let j = i + 1; j < bytes.length; j++) {
        const { seen, pending } = read([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)])
        expect(seen.map((e) => e.raw).join('')).toBe(text)
        // An event split across reads is framed and read like any other.
        expect(seen.reduce((n, e) => n + (e.known || 1), 0)).toBe(8)
        expect(seen.filter((e) => e.known === 0).map((e) => e.data)).toEqual(
          expect.arrayContaining(['1', '']),
        )
        expect(pending).toBe(0)
      }
    }
  })

  it('still refuses a known event larger than the maximum', () => {
    expect(read([Buffer.from(': p\n\ndata: k\n\n')], 9).seen).toHaveLength(2)
    expect(() => read([Buffer.from(': p\n\ndata: k\n\n')], 8)).toThrow(EventTooLarge)
  })
})

describe('SSE framing under hostile input', () => {
  it('finds an event end split at every possible place across three chunks', () => {
    const text = 'data: 1\n\ndata: 2\r\n\r\ndata: 3\n\r\n'
    const bytes = Buffer.from(text)
    for (let i = 1; i < bytes.length - 1; i++) {
      for (let j = i + 1; j < bytes.length; j++) {
        const parser = new SseParser()
        const events = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)].flatMap((c) =>
          parser.push(c),
        )
        expect(events.map((e) => e.data)).toEqual(['1', '2', '3'])
        expect(Buffer.concat(events.map((e) => e.raw)).toString()).toBe(text)
      }
    }
  })

  it('refuses an event larger than its maximum, whether it comes whole or in pieces', () => {
    const whole = new SseParser(1024)
    expect(() => whole.push(Buffer.from(`data: ${'x'.repeat(2000)}\n\n`))).toThrow(EventTooLarge)
    const pieces = new SseParser(1024)
    expect(() => {
      for (let i = 0; i < 100; i++) pieces.push(Buffer.from('x'.repeat(100)))
    }).toThrow(EventTooLarge)
  })

  it('reads one unterminated 32 MB event in linear work (no re-copy of what it already holds)', () => {
    // Counted, not timed: the bytes copied per byte received stay constant as the event grows.
    const parser = new SseParser(64 * 1024 * 1024)
    const piece = Buffer.alloc(16 * 1024, 0x78)
    const copies = { bytes: 0 }
    const concat = Buffer.concat
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      copies.bytes += total ?? list.reduce((n, b) => n + b.length, 0)
      return concat(list, total)
    }) as typeof Buffer.concat
    try {
      for (let i = 0; i < 2048; i++) parser.push(piece)
      parser.push(Buffer.from('\n\n'))
    } finally {
      Buffer.concat = concat
    }
    const received = 2048 * piece.length + 2
    expect(copies.bytes).toBeLessThanOrEqual(received)
  })
})
