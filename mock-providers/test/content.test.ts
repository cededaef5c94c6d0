import { countTokens, encode } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'
import { generateCompletion } from '../src/content.ts'
import { SPACED_WORDS, STARTERS } from '../src/vocabulary.ts'

describe('generated content', () => {
  it('every vocabulary piece is exactly one token and needs no JSON escaping', () => {
    for (const piece of [...STARTERS, ...SPACED_WORDS, '.']) {
      expect(encode(piece), piece).toHaveLength(1)
      expect(JSON.stringify(piece)).toBe(`"${piece}"`)
    }
  })

  it('the text of n pieces is n tokens, for many seeds and lengths', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const completion = generateCompletion(seed * 2654435761, 1, 120, null)
      expect(countTokens(completion.pieces.join(''))).toBe(completion.pieces.length)
    }
  })

  it('respects the natural length range and the max_tokens limit', () => {
    const lengths = new Set<number>()
    for (let seed = 1; seed <= 200; seed++) {
      const natural = generateCompletion(seed, 10, 20, null)
      lengths.add(natural.pieces.length)
      expect(natural.truncated).toBe(false)
      const cut = generateCompletion(seed, 10, 20, 5)
      expect(cut.pieces).toEqual(natural.pieces.slice(0, 5))
      expect(cut.truncated).toBe(true)
    }
    expect(Math.min(...lengths)).toBe(10)
    expect(Math.max(...lengths)).toBe(20)
  })

  it('the same seed gives the same text; another seed gives another', () => {
    expect(generateCompletion(123, 30, 30, null)).toEqual(generateCompletion(123, 30, 30, null))
    expect(generateCompletion(124, 30, 30, null).pieces).not.toEqual(
      generateCompletion(123, 30, 30, null).pieces,
    )
  })
})
