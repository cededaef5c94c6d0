import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import bundledRanks from 'gpt-tokenizer/bpeRanks/o200k_base'
import { countTokens as bundledCount } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'
import { loadO200k, parseTiktokenRanks, RankFileReader } from '../src/context/encoding.ts'

const rankFile = () =>
  readFileSync(fileURLToPath(import.meta.resolve('gpt-tokenizer/data/o200k_base.tiktoken')))
const line = (bytes: number[], rank: number) => `${Buffer.from(bytes).toString('base64')} ${rank}\n`

describe('the o200k_base encoding built from its rank file', () => {
  it('is the table gpt-tokenizer bundles, rank for rank', () => {
    const ranks = parseTiktokenRanks(rankFile())
    expect(ranks.length).toBe(bundledRanks.length)
    const differ: number[] = []
    for (let rank = 0; rank < ranks.length; rank++) {
      const ours = ranks[rank]
      const theirs = bundledRanks[rank]
      const same =
        typeof ours === 'string' || typeof theirs === 'string'
          ? ours === theirs
          : ours.length === theirs.length && ours.every((b, k) => b === theirs[k])
      if (!same) differ.push(rank)
    }
    expect(differ).toEqual([])
    // Both kinds of entry occur: byte fragments of multi-byte characters stay bytes.
    expect(ranks.some((t) => Array.isArray(t))).toBe(true)
  })

  it('counts every text as the bundled encoding does', async () => {
    const count = await loadO200k()
    const texts = [
      '',
      'Summarise the benefits of connection pooling in two sentences.',
      'The deployment failed at step four because the connection pool was exhausted.',
      '日本語のテキストと中文文本，还有한국어 텍스트도 있습니다。',
      'emoji 🚀🔥👩‍👩‍👧‍👦 and flags 🇫🇷🇯🇵, combining e\u0301 and \u2028 separators',
      'code: `const x = { "a": [1, 2, 3] };\n\tif (x) return x.a?.map((v) => v ** 2)`',
      '\uFEFFbyte order mark, lone surrogate \uD800 and \uDFFF, NUL \u0000, tabs\t\t\t',
      '\uFEFFusing a byte order mark before a word',
      'ÀÁÂÃÄÅÆÇÈÉ ąćęłńóśźż ßüöä Ωπσ',
      '1234567890 3.14159 -42e10 0xDEADBEEF',
      'a'.repeat(5000),
      ' '.repeat(300),
    ]
    for (const text of texts) expect(count(text), text.slice(0, 40)).toBe(bundledCount(text))
  })

  it('keeps a token that is not whole UTF-8, or starts with a byte order mark, as its bytes', () => {
    const file = Buffer.from(
      line([0x61], 0) + line([0xe6, 0x97], 1) + line([0xef, 0xbb, 0xbf, 0x41], 2) + line([0xc3, 0xa9], 3),
    )
    expect(parseTiktokenRanks(file)).toEqual(['a', [0xe6, 0x97], [0xef, 0xbb, 0xbf, 0x41], 'é'])
  })

  it('counts a special token written in a message as the text it is, not as an error', async () => {
    const count = await loadO200k()
    const text = 'ignore this <|endoftext|> and <|im_start|>system'
    expect(() => bundledCount(text)).toThrow(/special token/)
    expect(count(text)).toBe(bundledCount(text, { disallowedSpecial: new Set() }))
    expect(count(text)).toBeGreaterThan(count('ignore this  and system'))
  })

  it('refuses a malformed rank file rather than count with a wrong table', () => {
    expect(() => parseTiktokenRanks(Buffer.from('YQ== 0\n!!!! 1\n'))).toThrow(/line 2: bad token/)
    expect(() => parseTiktokenRanks(Buffer.from('YQ== 0\nYg== x1\n'))).toThrow(/line 2: bad rank/)
    expect(() => parseTiktokenRanks(Buffer.from('YQ== \n'))).toThrow(/line 1: empty token or rank/)
    expect(parseTiktokenRanks(Buffer.from('YQ== 0\nYg== 1'))).toEqual(['a', 'b'])
  })

  it('reads the same table a slice of lines at a time, and names the right line when one is bad', () => {
    const file = rankFile().subarray(0, 200_000)
    const whole = parseTiktokenRanks(file.subarray(0, file.lastIndexOf(0x0a) + 1))
    const reader = new RankFileReader(file.subarray(0, file.lastIndexOf(0x0a) + 1))
    let turns = 0
    while (!reader.done) {
      reader.read(997)
      turns++
    }
    expect(turns).toBe(Math.ceil(whole.length / 997))
    expect(reader.ranks).toEqual(whole)
    const bad = new RankFileReader(Buffer.from('YQ== 0\nYg== 1\nYw== 2\n!!!! 3\n'))
    bad.read(2)
    expect(() => bad.read(2)).toThrow(/line 4: bad token/)
  })
})
