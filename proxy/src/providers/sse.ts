// Incremental Server-Sent Events framing over raw bytes. The proxy forwards whole events only, so
// that an error event it has to append after a cut is never glued onto half an upstream event.

const LF = 0x0a
const CR = 0x0d

export interface SseEvent {
  /** The event exactly as received, terminator included. */
  readonly raw: Buffer
  /** The `event:` field, or '' when absent. */
  readonly event: string
  /** The `data:` lines joined by '\n'; '' for comments and keep-alives. */
  readonly data: string
}

export class SseParser {
  #pending: Buffer | null = null

  /** Feeds bytes; returns the events completed by them (possibly none). */
  push(chunk: Buffer): SseEvent[] {
    const buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk
    const events: SseEvent[] = []
    let start = 0
    for (;;) {
      const end = findEventEnd(buf, start)
      if (end === -1) break
      events.push(parseEvent(buf.subarray(start, end)))
      start = end
    }
    this.#pending = start < buf.length ? Buffer.from(buf.subarray(start)) : null
    return events
  }

  /** Bytes received after the last complete event (a partial event at the end of a stream). */
  get pendingBytes(): number {
    return this.#pending ? this.#pending.length : 0
  }
}

/** The index just past the blank line ending the event that starts at `from`, or -1. */
function findEventEnd(buf: Buffer, from: number): number {
  let i = buf.indexOf(LF, from)
  while (i !== -1) {
    const next = buf[i + 1]
    if (next === LF) return i + 2
    if (next === CR && buf[i + 2] === LF) return i + 3
    if (next === undefined) return -1
    i = buf.indexOf(LF, i + 1)
  }
  return -1
}

function parseEvent(raw: Buffer): SseEvent {
  const text = raw.toString('utf8')
  let event = ''
  let data: string | null = null
  let lineStart = 0
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart)
    if (lineEnd === -1) lineEnd = text.length
    let line = text.slice(lineStart, lineEnd)
    if (line.endsWith('\r')) line = line.slice(0, -1)
    lineStart = lineEnd + 1
    if (line === '' || line.charCodeAt(0) === 58 /* ':' comment */) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    if (field === 'data') data = data === null ? value : `${data}\n${value}`
    else if (field === 'event') event = value
  }
  return { raw, event, data: data ?? '' }
}

export function sseData(json: string): Buffer {
  return Buffer.from(`data: ${json}\n\n`)
}

export const SSE_DONE = Buffer.from('data: [DONE]\n\n')
export const SSE_PING = Buffer.from(': ping\n\n')
