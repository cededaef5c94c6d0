import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'
import { MAX_PIECE, MAX_SLICE, slices } from '../src/context/slices.ts'
import { TokenCounter } from '../src/context/tokens.ts'

const AS_TEXT = { disallowedSpecial: new Set<string>() }
const exact = (text: string) => countTokens(text, AS_TEXT)
const sliced = (text: string) => [...slices(text)].reduce((n, slice) => n + exact(slice), 0)

// Ordinary text of every kind the split pattern tells apart, longer than a slice; its longest
// piece (the table's padding) is under MAX_PIECE.
const ORDINARY = [
  'The deployment failed at step four because the connection pool was exhausted. ',
  "It's the pool's fault, isn't it? HTTPServer, XMLHttpRequest and camelCaseWords.\n\n",
  'const x = { "a": [1, 2, 3] };\n\tif (x) return x.a?.map((v) => v ** 2) // https://example.com/a/b/\n',
  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":16}\r\n',
  '日本語のテキストと中文文本，还有한국어 텍스트도 있습니다。 Ωπσ ąćęłńóśźż e\u0301\n',
  `| column |${' '.repeat(500)}| ${'-'.repeat(200)} |\n`,
  'emoji 🚀🔥👩‍👩‍👧‍👦 flags 🇫🇷🇯🇵 1234567890 3.14159 -42e10 <|endoftext|>   \n\n\n',
].join('')

describe('slices of text for counting', () => {
  it('put back together are the text, and a surrogate pair is never split', () => {
    const texts = [
      '',
      'short',
      ORDINARY.repeat(20),
      'x'.repeat(5000),
      ` ${'🚀'.repeat(3000)}`,
      `a ${'\u{1F600}'.repeat(2000)}b`,
      ' '.repeat(3000),
    ]
    for (const text of texts) {
      const parts = [...slices(text)]
      expect(parts.join('')).toBe(text)
      for (const part of parts) {
        expect(part.length).toBeGreaterThan(0)
        expect(part.length).toBeLessThanOrEqual(MAX_SLICE)
        expect(/[\uD800-\uDBFF]$/.test(part)).toBe(false)
        expect(/^[\uDC00-\uDFFF]/.test(part)).toBe(false)
      }
    }
  })

  it('count ordinary text exactly as the tokenizer counts it whole', () => {
    const text = ORDINARY.repeat(40)
    expect(text.length).toBeGreaterThan(10 * MAX_SLICE)
    expect([...slices(text)].length).toBeGreaterThan(10)
    expect(sliced(text)).toBe(exact(text))
  })

  it('count a piece longer than MAX_PIECE within a token per slice', () => {
    for (const run of ['x'.repeat(6000), '-'.repeat(5000), ' '.repeat(4000), '\n'.repeat(3000)]) {
      const text = `prefix ${run} suffix`
      const pieces = [...slices(text)].length
      expect(pieces).toBeGreaterThan(run.length / MAX_PIECE)
      expect(Math.abs(sliced(text) - exact(text))).toBeLessThanOrEqual(pieces)
    }
  })
})

describe('TokenCounter on a prompt of one long word', () => {
  it('counts it, bounded by its bytes, and gives the event loop back while it counts', async () => {
    // A clock that moves 20 ms per reading: every slice ends a turn.
    let now = 0
    const counter = new TokenCounter({ clock: { monotonic: () => (now += 20) } })
    await counter.load()
    const word = 'y'.repeat(2_000_000)
    let served = 0
    const counting = counter.text(word).then((n) => ({ n, served }))
    const serve = () => {
      served++
      if (served < 5) setImmediate(serve)
    }
    setImmediate(serve)
    const { n, served: servedMeanwhile } = await counting
    expect(servedMeanwhile).toBe(5)
    expect(n).toBeGreaterThan(word.length / 32)
    expect(n).toBeLessThanOrEqual(word.length)
  })
})
