// A streamed answer's events as the cache stores them: small, without a compressor.
//
// The events of one answer repeat each other. Every OpenAI chunk carries the same id, object,
// created, model and fingerprint before its delta and the same tail after it, so what differs from
// one event to the next is a few bytes (a token's text). Each event is stored as what it shares
// with the one before it (a prefix and a suffix length) and the bytes in between: 64 events of
// 250 bytes pack into about 900 bytes, near what gzip makes of them (about 600), for a fraction of
// its time, and below the size at which the cache compresses a record at all. A replay is one
// allocation and a few copies an event.
//
// Layout, every number an unsigned LEB128 varint:
//   the events' length unpacked, the number of events,
//   per event: prefix length shared with the event before, suffix length shared with it,
//              length of the bytes in between, those bytes.
// Events are cut after each blank line ("\n\n"); any bytes round-trip exactly, however they cut.

const LF = 0x0a

/** The events of `chunks` (SSE-framed, in order) packed; empty when there are none. */
export function packEvents(chunks: readonly Buffer[]): Buffer {
  const events: Buffer[] = []
  let total = 0
  for (const chunk of chunks) {
    total += chunk.length
    let start = 0
    // A byte needle is a memchr; the second line feed is checked by hand.
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
      if (chunk[lf + 1] !== LF) continue
      events.push(chunk.subarray(start, lf + 2))
      start = lf + 2
      lf++
    }
    if (start < chunk.length) events.push(chunk.subarray(start))
  }
  // What each event shares with the one before it, then the bytes this takes.
  const shared = new Array<number>(events.length * 2)
  let size = varintLength(total) + varintLength(events.length)
  let prefix = 0
  let suffix = 0
  for (let i = 0; i < events.length; i++) {
    const event = events[i]
    if (i === 0) {
      prefix = 0
      suffix = 0
    } else {
      const before = events[i - 1]
      prefix = sharedPrefix(before, event, prefix)
      suffix = sharedSuffix(before, event, Math.min(before.length, event.length - prefix), suffix)
    }
    shared[2 * i] = prefix
    shared[2 * i + 1] = suffix
    const rest = event.length - prefix - suffix
    size += varintLength(prefix) + varintLength(suffix) + varintLength(rest) + rest
  }
  const out = Buffer.allocUnsafe(size)
  let at = writeVarint(out, 0, total)
  at = writeVarint(out, at, events.length)
  for (let i = 0; i < events.length; i++) {
    const event = events[i]
    const p = shared[2 * i]
    const s = shared[2 * i + 1]
    at = writeVarint(out, at, p)
    at = writeVarint(out, at, s)
    at = writeVarint(out, at, event.length - p - s)
    at += event.copy(out, at, p, event.length - s)
  }
  return out
}

/**
 * The events of `packed` as one buffer, followed by `after` (the usage chunk, [DONE]): what a
 * replay sends. Throws on bytes that are not a packing (a record this version cannot read).
 */
export function unpackEvents(packed: Uint8Array, after: readonly Uint8Array[] = []): Buffer {
  const reader = { at: 0 }
  const total = readVarint(packed, reader)
  const count = readVarint(packed, reader)
  let extra = 0
  for (const tail of after) extra += tail.length
  const out = Buffer.allocUnsafe(total + extra)
  let at = 0
  let before = 0 // where the event before this one starts in `out`
  for (let i = 0; i < count; i++) {
    const prefix = readVarint(packed, reader)
    const suffix = readVarint(packed, reader)
    const rest = readVarint(packed, reader)
    const start = at
    if (prefix > start - before || suffix > start - before || at + prefix + rest + suffix > total)
      throw new RangeError('packed events: an event refers past the one before it')
    out.copyWithin(at, before, before + prefix)
    at += prefix
    if (reader.at + rest > packed.length) throw new RangeError('packed events: truncated')
    out.set(packed.subarray(reader.at, reader.at + rest), at)
    reader.at += rest
    at += rest
    out.copyWithin(at, start - suffix, start)
    at += suffix
    before = start
  }
  if (at !== total) throw new RangeError('packed events: length does not match')
  for (const tail of after) {
    out.set(tail, at)
    at += tail.length
  }
  return out
}

/** Bytes `a` and `b` share at their start; `guess` (what the pair before shared) is tried first. */
function sharedPrefix(a: Buffer, b: Buffer, guess: number): number {
  const max = Math.min(a.length, b.length)
  let n = 0
  if (guess > 0 && guess <= max && a.compare(b, 0, guess, 0, guess) === 0) n = guess
  while (n < max && a[n] === b[n]) n++
  return n
}

/** Bytes `a` and `b` share at their end, at most `max`; `guess` is tried first. */
function sharedSuffix(a: Buffer, b: Buffer, max: number, guess: number): number {
  let n = 0
  if (guess > 0 && guess <= max && a.compare(b, b.length - guess, b.length, a.length - guess) === 0) n = guess
  while (n < max && a[a.length - 1 - n] === b[b.length - 1 - n]) n++
  return n
}

function varintLength(n: number): number {
  let length = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    length++
  }
  return length
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 0x80)
  }
  out[at++] = n
  return at
}

function readVarint(bytes: Uint8Array, reader: { at: number }): number {
  let n = 0
  let scale = 1
  for (let shift = 0; shift < 35; shift += 7) {
    if (reader.at >= bytes.length) throw new RangeError('packed events: truncated')
    const byte = bytes[reader.at++]
    n += (byte & 0x7f) * scale
    if (byte < 0x80) return n
    scale *= 0x80
  }
  throw new RangeError('packed events: a number is too long')
}
