// Incremental Server-Sent Events framing over raw bytes. The proxy forwards whole events only, so
// that an error event it has to append after a cut is never glued onto half an upstream event.

const LF = 0x0a
const CR = 0x0d

/**
 * One event of a stream. Its fields are read from its bytes when first asked for: an event the
 * proxy can judge on its bytes (a chat stream's next piece of text) is never decoded.
 */
export class SseEvent {
  /** The event exactly as received, terminator included (every event of a run of known ones). */
  readonly raw: Buffer
  /**
   * 0 for an event to be read; n > 0 when `raw` is a run of n events side by side that the reader
   * recognised on their bytes (SseReader.knownEnd): they are forwarded as they came, never read.
   */
  readonly known: number
  #event: string | undefined
  #data: string | undefined

  constructor(raw: Buffer, known = 0) {
    this.raw = raw
    this.known = known
  }

  /** The `event:` field, or '' when absent. */
  get event(): string {
    if (this.#data === undefined) this.#read()
    return this.#event as string
  }

  /** The `data:` lines joined by '\n'; '' for comments and keep-alives. */
  get data(): string {
    if (this.#data === undefined) this.#read()
    return this.#data as string
  }

  #read(): void {
    const text = this.raw.toString('utf8')
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
    this.#event = event
    this.#data = data ?? ''
  }
}

/** One upstream event grew past the configured maximum (streaming.max_event_kb). */
export class EventTooLarge extends Error {
  readonly limit: number
  constructor(limit: number) {
    super(`an event of the provider's stream is larger than ${limit} bytes`)
    this.name = 'EventTooLarge'
    this.limit = limit
  }
}

/** What reads a stream's events as they are framed: `feed` hands them over one by one. */
export interface SseReader<Out> {
  translate(event: SseEvent, out: Out): void
  /**
   * Where the event starting at `at` in `buf` ends when the reader recognises it on its bytes
   * (to be forwarded as it came, without being read), or -1. Events recognised side by side reach
   * `translate` as one run (SseEvent.known), without being framed one by one.
   */
  knownEnd?(buf: Buffer, at: number): number
}

const COLLECT: SseReader<SseEvent[]> = { translate: (event, out) => out.push(event) }

/**
 * Splits a byte stream into events. Linear in the bytes received: each byte is scanned once, for
 * an event's end or by the reader that knows the event (`knownEnd`), and copied only when its
 * event is split across chunks (the bytes of an unfinished event wait as a list, not
 * re-concatenated on every push). An event larger than `maxEventBytes` throws EventTooLarge.
 */
export class SseParser {
  readonly #maxEventBytes: number
  #pending: Buffer[] = []
  #pendingBytes = 0

  constructor(maxEventBytes = Number.POSITIVE_INFINITY) {
    this.#maxEventBytes = maxEventBytes
  }

  /** Feeds bytes; returns the events completed by them (possibly none). */
  push(chunk: Buffer): SseEvent[] {
    const events: SseEvent[] = []
    this.feed(chunk, COLLECT, events)
    return events
  }

  /**
   * Feeds bytes; hands each event they complete to `reader` as soon as it is framed, so what the
   * reader learns from one event (what the next ones look like) already applies to the next.
   */
  feed<Out>(chunk: Buffer, reader: SseReader<Out>, out: Out): void {
    let start = 0
    if (this.#pendingBytes > 0) {
      const end = this.#endAcrossBoundary(chunk)
      if (end === -1) {
        this.#keep(chunk, 0)
        return
      }
      this.#pending.push(chunk.subarray(0, end))
      const raw = Buffer.concat(this.#pending, this.#pendingBytes + end)
      this.#pending = []
      this.#pendingBytes = 0
      this.#check(raw.length)
      reader.translate(new SseEvent(raw), out)
      start = end
    }
    const max = this.#maxEventBytes
    for (;;) {
      if (reader.knownEnd !== undefined) {
        const from = start
        let known = 0
        for (let end = reader.knownEnd(chunk, start); end !== -1 && end - start <= max; ) {
          known++
          start = end
          end = reader.knownEnd(chunk, start)
        }
        if (known > 0) {
          const run = from === 0 && start === chunk.length ? chunk : chunk.subarray(from, start)
          reader.translate(new SseEvent(run, known), out)
        }
      }
      const end = findEventEnd(chunk, start)
      if (end === -1) break
      this.#check(end - start)
      reader.translate(new SseEvent(chunk.subarray(start, end)), out)
      start = end
    }
    if (start < chunk.length) this.#keep(chunk, start)
  }

  /** Bytes received after the last complete event (a partial event at the end of a stream). */
  get pendingBytes(): number {
    return this.#pendingBytes
  }

  /** The end of the pending event inside `chunk`, looking at the pending event's last bytes too. */
  #endAcrossBoundary(chunk: Buffer): number {
    const last = this.#pending[this.#pending.length - 1]
    const b = last[last.length - 1]
    const a = last.length > 1 ? last[last.length - 2] : this.#pending.length > 1 ? this.#lastOf(-2) : -1
    if (b === LF && chunk[0] === LF) return 1
    if (a === LF && b === CR && chunk[0] === LF) return 1
    if (b === LF && chunk[0] === CR && chunk[1] === LF) return 2
    return findEventEnd(chunk, 0)
  }

  #lastOf(offset: number): number {
    const previous = this.#pending[this.#pending.length - 2]
    return previous[previous.length + offset + 1] ?? -1
  }

  #keep(chunk: Buffer, from: number): void {
    // A copy: the rest of the chunk would otherwise keep the whole chunk alive.
    const rest = from === 0 ? chunk : Buffer.from(chunk.subarray(from))
    this.#pending.push(rest)
    this.#pendingBytes += rest.length
    this.#check(this.#pendingBytes)
  }

  #check(bytes: number): void {
    if (bytes > this.#maxEventBytes) {
      this.#pending = []
      this.#pendingBytes = 0
      throw new EventTooLarge(this.#maxEventBytes)
    }
  }
}

/**
 * Empties a list and keeps its storage for the next use: `list.length = 0` gives the storage up,
 * and the next push allocates it again (once for every read of a stream, for the lists of chunks
 * that go out).
 */
export function empty(list: unknown[]): void {
  while (list.length > 0) list.pop()
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

export function sseData(json: string): Buffer {
  return Buffer.from(`data: ${json}\n\n`)
}

export const SSE_DONE = Buffer.from('data: [DONE]\n\n')
export const SSE_PING = Buffer.from(': ping\n\n')
