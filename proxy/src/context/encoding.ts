import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { GptEncoding } from 'gpt-tokenizer/GptEncoding'

/**
 * The o200k_base encoding (gpt-4o's), built from the `.tiktoken` rank file gpt-tokenizer ships
 * rather than from its bundled JavaScript module. The module is a 2.4 MB array literal: compiling
 * it grows the process by about 65 MB for a table that holds 15 MB on the heap. Reading the rank
 * file (one `base64-token rank` line per token) straight from its bytes into the same table costs
 * about 40 MB, and never holds more than one token's bytes outside the table.
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

/**
 * Parses a `.tiktoken` rank file: the rank decoder gpt-tokenizer's encodings take (index = rank).
 * Throws on a malformed line rather than building a table that counts wrong.
 */
export function parseTiktokenRanks(file: Uint8Array): RankToken[] {
  const ranks: RankToken[] = []
  const token = Buffer.allocUnsafeSlow(1024)
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  let line = 1
  let i = 0
  while (i < file.length) {
    let bits = 0
    let acc = 0
    let length = 0
    let ascii = true
    for (; i < file.length && file[i] !== SPACE; i++) {
      if (file[i] === PAD) continue
      const sextet = BASE64[file[i]]
      if (sextet < 0 || length === token.length) throw new Error(`rank file line ${line}: bad token`)
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
      if (digit < 0 || digit > 9) throw new Error(`rank file line ${line}: bad rank`)
      rank = rank * 10 + digit
    }
    if (length === 0 || digits === 0) throw new Error(`rank file line ${line}: empty token or rank`)
    i++
    line++
    const bytes = token.subarray(0, length)
    if (ascii) ranks[rank] = token.toString('latin1', 0, length)
    else if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) ranks[rank] = Array.from(bytes)
    else {
      try {
        ranks[rank] = utf8.decode(bytes)
      } catch {
        ranks[rank] = Array.from(bytes)
      }
    }
  }
  return ranks
}

export type CountTokens = (text: string) => number

/**
 * Loads o200k_base from gpt-tokenizer's rank file; resolves with its token counter. A special
 * token's text in a message (`<|endoftext|>`) is counted as the ordinary text it is: the library's
 * default refuses it with an exception.
 */
export async function loadO200k(): Promise<CountTokens> {
  const path = fileURLToPath(import.meta.resolve('gpt-tokenizer/data/o200k_base.tiktoken'))
  const ranks = parseTiktokenRanks(await readFile(path))
  const encoding = GptEncoding.getEncodingApi('o200k_base', () => ranks)
  const asText = { disallowedSpecial: new Set<string>() }
  return (text) => encoding.countTokens(text, asText)
}
