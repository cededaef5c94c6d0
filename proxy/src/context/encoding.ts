import { readFile } from 'node:fs/promises'
import { setImmediate } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { MERGE_CACHE_PIECES } from './slices.ts'

/**
 * The o200k_base encoding (gpt-4o's), built from the `.tiktoken` rank file gpt-tokenizer ships
 * rather than from its bundled JavaScript module. The module is a 2.4 MB array literal: compiling
 * it grew a running proxy by about 55 MB for a table that holds 15 MB on the heap. Read from the
 * rank file (one `base64-token rank` line per token) straight into the same table, it grows it by
 * about 18 MB: no more than one token's bytes are held outside the table. The file is read 20,000
 * lines per turn of the event loop (about 20 ms each); only the library's own lookup map is built
 * in one go (about 0.1 s).
 */

/**
 * A rank's token: its text when its bytes are well-formed UTF-8 (and do not start with a byte order
 * mark, which a decoder would drop), else the bytes; the same split the bundled table makes.
 */
export type RankToken = string | number[]

const BASE64 = new Int8Array(256).fill(-1)
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) {
  BASE64[c.charCodeAt(0)] = i
}
const SPACE = 0x20
const NEWLINE = 0x0a
const PAD = 0x3d
const LINES_PER_TURN = 20_000

/**
 * Reads a `.tiktoken` rank file a slice of lines at a time into the rank decoder gpt-tokenizer's
 * encodings take (index = rank). Throws on a malformed line rather than build a table that counts
 * wrong.
 */
export class RankFileReader {
  readonly ranks: RankToken[] = []
  readonly #file: Uint8Array
  readonly #token = Buffer.allocUnsafeSlow(1024)
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true })
  #at = 0
  #line = 1

  constructor(file: Uint8Array) {
    this.#file = file
  }

  get done(): boolean {
    return this.#at >= this.#file.length
  }

  /** Reads up to `lines` more lines. */
  read(lines: number): void {
    const file = this.#file
    const token = this.#token
    let i = this.#at
    for (let n = 0; n < lines && i < file.length; n++) {
      let bits = 0
      let acc = 0
      let length = 0
      let ascii = true
      for (; i < file.length && file[i] !== SPACE; i++) {
        if (file[i] === PAD) continue
        const sextet = BASE64[file[i]]
        if (sextet < 0 || length === token.length) throw this.#error('bad token')
        acc = ((acc << 6) | sextet) & 0xffffff
        bits += 6
        if (bits >= 8) {
          bits -= 8
          const byte = (acc >> bits) & 0xff
          if (byte > 0x7f) ascii = false
          token[length++] = byte
        }
      }
      let rank = 0
      let digits = 0
      for (i++; i < file.length && file[i] !== NEWLINE; i++, digits++) {
        const digit = file[i] - 0x30
        if (digit < 0 || digit > 9) throw this.#error('bad rank')
        rank = rank * 10 + digit
      }
      if (length === 0 || digits === 0) throw this.#error('empty token or rank')
      i++
      this.#line++
      this.ranks[rank] = ascii ? token.toString('latin1', 0, length) : this.#text(token.subarray(0, length))
    }
    this.#at = i
  }

  #text(bytes: Buffer): RankToken {
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return Array.from(bytes)
    try {
      return this.#utf8.decode(bytes)
    } catch {
      return Array.from(bytes)
    }
  }

  #error(what: string): Error {
    return new Error(`rank file line ${this.#line}: ${what}`)
  }
}

/** The whole rank file at once. */
export function parseTiktokenRanks(file: Uint8Array): RankToken[] {
  const reader = new RankFileReader(file)
  while (!reader.done) reader.read(Number.POSITIVE_INFINITY)
  return reader.ranks
}

export type CountTokens = (text: string) => number

/**
 * Loads o200k_base from gpt-tokenizer's rank file; resolves with its token counter. A special
 * token's text in a message (`<|endoftext|>`) is counted as the ordinary text it is: the library's
 * default refuses it with an exception.
 */
export async function loadO200k(): Promise<CountTokens> {
  const path = fileURLToPath(import.meta.resolve('gpt-tokenizer/data/o200k_base.tiktoken'))
  const reader = new RankFileReader(await readFile(path))
  // A slice of lines per turn of the event loop: requests in flight are not held up meanwhile.
  while (!reader.done) {
    reader.read(LINES_PER_TURN)
    await setImmediate()
  }
  const ranks = reader.ranks
  // Imported here: a proxy that never counts tokens never loads the library either.
  const { GptEncoding } = await import('gpt-tokenizer/GptEncoding')
  const encoding = GptEncoding.getEncodingApi('o200k_base', () => ranks)
  encoding.setMergeCacheSize(MERGE_CACHE_PIECES)
  const asText = { disallowedSpecial: new Set<string>() }
  return (text) => encoding.countTokens(text, asText)
}
