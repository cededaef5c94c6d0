import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'
import { argumentEntries } from '../src/tool-arguments.ts'
import { createToolCall } from '../src/tool-call.ts'
import { WORDS } from '../src/vocabulary.ts'

function argumentsFor(schema: unknown, seed = 1): Record<string, unknown> {
  return JSON.parse(`{${argumentEntries(schema, seed).join(',')}}`)
}

describe('tool arguments from a JSON schema', () => {
  it('fills the required properties only, or every property when none is required', () => {
    const properties = { a: { type: 'string' }, b: { type: 'string' }, c: { type: 'string' } }
    expect(Object.keys(argumentsFor({ type: 'object', properties, required: ['c', 'a'] }))).toEqual([
      'c',
      'a',
    ])
    expect(Object.keys(argumentsFor({ type: 'object', properties }))).toEqual(['a', 'b', 'c'])
    expect(argumentsFor({ type: 'object' })).toEqual({})
  })

  it('gives each type its value: a vocabulary word, a small integer, true, the first enum value, one item', () => {
    const args = argumentsFor({
      type: 'object',
      properties: {
        word: { type: 'string' },
        count: { type: 'integer' },
        ratio: { type: 'number' },
        flag: { type: 'boolean' },
        unit: { enum: ['celsius', 'fahrenheit'] },
        fixed: { const: 42 },
        list: { type: 'array', items: { type: 'integer' } },
        nested: { type: 'object', properties: { inner: { type: 'boolean' } } },
        nullable: { type: ['string', 'null'] },
        either: { anyOf: [{ type: 'null' }, { type: 'boolean' }] },
      },
    })
    expect(WORDS).toContain(args.word)
    for (const n of [args.count, args.ratio]) {
      expect(Number.isInteger(n)).toBe(true)
      expect(n).toBeGreaterThanOrEqual(1)
      expect(n).toBeLessThanOrEqual(9)
    }
    expect(args).toMatchObject({
      flag: true,
      unit: 'celsius',
      fixed: 42,
      nested: { inner: true },
      either: true,
    })
    expect(args.list).toHaveLength(1)
    expect(typeof args.nullable).toBe('string')
  })

  it('keeps integers within minimum and maximum, and strings in their format', () => {
    const args = argumentsFor({
      type: 'object',
      properties: {
        big: { type: 'integer', minimum: 100 },
        zero: { type: 'integer', maximum: 0 },
        when: { type: 'string', format: 'date-time' },
        mail: { type: 'string', format: 'email' },
      },
    })
    expect(args.big).toBe(100)
    expect(args.zero).toBe(0)
    expect(Number.isNaN(Date.parse(args.when as string))).toBe(false)
    expect(args.mail).toMatch(/^[a-z]+@example\.com$/)
  })

  it('bounds the depth of nested objects and arrays', () => {
    const deep: Record<string, unknown> = { type: 'object', properties: {} }
    let level = deep
    for (let i = 0; i < 10; i++) {
      const next = { type: 'object', properties: {} }
      level.properties = { next }
      level = next
    }
    // the arguments object, then four levels of nesting; the last one empty
    expect(JSON.stringify(argumentsFor(deep))).toBe('{"next":{"next":{"next":{"next":{}}}}}')
  })

  it('is a function of the schema and the seed', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } } }
    expect(argumentEntries(schema, 5)).toEqual(argumentEntries(schema, 5))
    expect(argumentEntries(schema, 6)).not.toEqual(argumentEntries(schema, 5))
  })
})

describe('a tool call', () => {
  const schema = {
    type: 'object',
    properties: {
      city: { type: 'string' },
      unit: { enum: ['°C ☀️ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢'] },
      days: { type: 'integer' },
      tags: { type: 'array', items: { type: 'string' } },
    },
  }

  it('streams its arguments in 2 to 4 pieces that join to the whole, without splitting a character', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const call = createToolCall({ name: 'get_forecast', schema }, seed, null)
      const pieces = call.piecesJson.map((p) => JSON.parse(p) as string)
      expect(pieces.length).toBeGreaterThanOrEqual(2)
      expect(pieces.length).toBeLessThanOrEqual(4)
      expect(pieces.join('')).toBe(call.arguments)
      for (const piece of pieces) expect(piece).toBe(piece.toWellFormed())
      expect(call.tokens).toBe(countTokens(call.arguments))
      expect(call.pieceTokens.reduce((a, b) => a + b, 0)).toBe(call.tokens)
      expect(call.input).toBe(call.arguments)
    }
  })

  it('cut by max_tokens: that many tokens, and an input of the properties complete before the cut', () => {
    const whole = createToolCall({ name: 'get_forecast', schema }, 3, null)
    for (let limit = 1; limit < whole.tokens; limit++) {
      const cut = createToolCall({ name: 'get_forecast', schema }, 3, limit)
      expect(cut.truncated).toBe(true)
      expect(cut.tokens).toBe(limit)
      expect(whole.arguments.startsWith(cut.arguments)).toBe(true)
      expect(cut.piecesJson.map((p) => JSON.parse(p)).join('')).toBe(cut.arguments)
      const input = JSON.parse(cut.input) as Record<string, unknown>
      const full = JSON.parse(whole.arguments) as Record<string, unknown>
      for (const [key, value] of Object.entries(input)) expect(value).toEqual(full[key])
    }
  })
})
