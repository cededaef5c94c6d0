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

/** The events of `chunks` (SSE-framed, in order) packed, by a packer of its own (see EventPacker). */
export function packEvents(chunks: readonly Buffer[]): Buffer {
  return new EventPacker().pack(chunks)
}

/**
 * Packs streamed answers, one after another (one packer per cache). It keeps its scratch from one
 * answer to the next: five numbers an event, in an array of 32-bit integers grown when an answer has
 * more events than any before. An array made for each answer and grown as it went was a third of
 * what a cacheable streamed miss allocated.
 */
export class EventPacker {
  #cuts = new Int32Array(5 * 128)

  /** The events of `chunks` (SSE-framed, in order) packed; empty when there are none. */
  pack(chunks: readonly Buffer[]): Buffer {
    // Per event, five numbers: its chunk, where it starts and ends in it, the prefix and the suffix
    // it shares with the event before. Offsets, not views: no object an event.
    let cuts = this.#cuts
    let used = 0
    let total = 0
    let size = 0
    let prefix = 0
    let suffix = 0
    let before = -1 // the event before's place in `cuts`
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c]
      total += chunk.length
      let start = 0
      while (start < chunk.length) {
        // A byte needle is a memchr; the second line feed is checked by hand.
        let end = chunk.length
        for (let lf = chunk.indexOf(LF, start); lf !== -1; lf = chunk.indexOf(LF, lf + 1))
          if (chunk[lf + 1] === LF) {
            end = lf + 2
            break
          }
        if (before === -1) {
          prefix = 0
          suffix = 0
        } else {
          const last = chunks[cuts[before]]
          const lastStart = cuts[before + 1]
          const lastEnd = cuts[before + 2]
          prefix = sharedPrefix(last, lastStart, lastEnd, chunk, start, end, prefix)
          const most = Math.min(lastEnd - lastStart, end - start - prefix)
          suffix = sharedSuffix(last, lastEnd, chunk, end, most, suffix)
        }
        if (used + 5 > cuts.length) {
          const grown = new Int32Array(cuts.length * 2)
          grown.set(cuts)
          cuts = grown
          this.#cuts = grown
        }
        before = used
        cuts[used] = c
        cuts[used + 1] = start
        cuts[used + 2] = end
        cuts[used + 3] = prefix
        cuts[used + 4] = suffix
        used += 5
        const rest = end - start - prefix - suffix
        size += varintLength(prefix) + varintLength(suffix) + varintLength(rest) + rest
        start = end
      }
    }
    const count = used / 5
    const out = Buffer.allocUnsafe(size + varintLength(total) + varintLength(count))
    let at = writeVarint(out, 0, total)
    at = writeVarint(out, at, count)
    for (let i = 0; i < used; i += 5) {
      const chunk = chunks[cuts[i]]
      const from = cuts[i + 1] + cuts[i + 3]
      const to = cuts[i + 2] - cuts[i + 4]
      at = writeVarint(out, at, cuts[i + 3])
      at = writeVarint(out, at, cuts[i + 4])
      at = writeVarint(out, at, to - from)
      at = copyBytes(chunk, from, to, out, at)
    }
    return out
  }
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
    at = copyBytes(packed, reader.at, reader.at + rest, out, at)
    reader.at += rest
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

/** Bytes two events share at their start; `guess` (what the pair before shared) is tried first. */
function sharedPrefix(
  a: Buffer,
  aStart: number,
  aEnd: number,
  b: Buffer,
  bStart: number,
  bEnd: number,
  guess: number,
): number {
  const max = Math.min(aEnd - aStart, bEnd - bStart)
  let n = 0
  if (guess > 0 && guess <= max && a.compare(b, bStart, bStart + guess, aStart, aStart + guess) === 0)
    n = guess
  while (n < max && a[aStart + n] === b[bStart + n]) n++
  return n
}

/** Bytes two events share at their end, at most `max`; `guess` is tried first. */
function sharedSuffix(a: Buffer, aEnd: number, b: Buffer, bEnd: number, max: number, guess: number): number {
  let n = 0
  if (guess > 0 && guess <= max && a.compare(b, bEnd - guess, bEnd, aEnd - guess, aEnd) === 0) n = guess
  while (n < max && a[aEnd - 1 - n] === b[bEnd - 1 - n]) n++
  return n
}

/** Copies `from`-`to` of `source` to `out` at `at`; returns the end. A few bytes (a token) are copied by hand. */
function copyBytes(source: Uint8Array, from: number, to: number, out: Uint8Array, at: number): number {
  if (to - from > 8) {
    out.set(source.subarray(from, to), at)
    return at + to - from
  }
  for (let i = from; i < to; i++) out[at++] = source[i]
  return at
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
