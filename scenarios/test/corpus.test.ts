import { describe, expect, it } from 'vitest'
import { buildCorpus, createPromptSource, ZipfSampler } from '../corpus.ts'
import { createPicker, effectiveMix } from '../mixed.ts'
import { seededRandom } from '../random.ts'
import { createWorkload } from '../workload.ts'

const OPTIONS = { size: 200, zipfExponent: 1, models: ['gpt-4o-mini', 'claude-3-5-haiku-latest'], seed: 7 }

describe('prompt corpus', () => {
  it('replays the same prompts in the same order for the same seed', () => {
    const a = createPromptSource(OPTIONS)
    const b = createPromptSource(OPTIONS)
    const draw = (s: typeof a) => Array.from({ length: 500 }, () => s.next())
    expect(draw(a)).toEqual(draw(b))
    const other = createPromptSource({ ...OPTIONS, seed: 8 })
    expect(draw(other).map((p) => p.rank)).not.toEqual(draw(createPromptSource(OPTIONS)).map((p) => p.rank))
  })

  it('builds distinct prompts, bound to the models in turn', () => {
    const corpus = buildCorpus(OPTIONS)
    expect(new Set(corpus.map((p) => JSON.stringify(p.messages))).size).toBe(200)
    expect(corpus.slice(0, 4).map((p) => p.model)).toEqual([
      'gpt-4o-mini',
      'claude-3-5-haiku-latest',
      'gpt-4o-mini',
      'claude-3-5-haiku-latest',
    ])
  })

  it('draws ranks with Zipf popularity: P(r) ~ 1 / r^s', () => {
    const n = 100_000
    const sampler = new ZipfSampler(1000, 1, seededRandom(3))
    const counts = new Float64Array(1000)
    for (let i = 0; i < n; i++) counts[sampler.next()]++
    const harmonic = Array.from({ length: 1000 }, (_, r) => 1 / (r + 1)).reduce((a, b) => a + b)
    expect(counts[0] / n).toBeCloseTo(1 / harmonic, 2) // 13.4 %
    expect(counts[0] / counts[1]).toBeGreaterThan(1.8) // 2^s = 2
    expect(counts[0] / counts[1]).toBeLessThan(2.2)
    const top10 = counts.slice(0, 10).reduce((a, b) => a + b) / n
    expect(top10).toBeGreaterThan(0.37) // 39.1 % in theory
    expect(top10).toBeLessThan(0.41)
    expect(sampler.probability(9) / sampler.probability(0)).toBeCloseTo(0.1, 10)
  })

  it('is uniform with exponent 0', () => {
    const sampler = new ZipfSampler(4, 0, seededRandom(1))
    expect([0, 1, 2, 3].map((r) => sampler.probability(r))).toEqual([0.25, 0.25, 0.25, 0.25])
  })
})

describe('mixed workload', () => {
  const MIX = [
    { name: 'chat', weight: 5 },
    { name: 'chat-stream', weight: 3 },
    { name: 'models', weight: 1 },
    { name: 'condense', weight: 1 },
  ] as const

  it('gives a skipped scenario weight 0 and its share to the others, keeping the total', () => {
    const mix = effectiveMix(MIX, new Map([['condense', 'not implemented']]))
    expect(mix).toEqual([
      { name: 'chat', weight: 5.556 },
      { name: 'chat-stream', weight: 3.333 },
      { name: 'models', weight: 1.111 },
      { name: 'condense', weight: 0 },
    ])
    expect(() => effectiveMix([{ name: 'condense', weight: 1 }], new Map([['condense', 'x']]))).toThrow(
      /nothing left/,
    )
  })

  it('draws scenarios in proportion to their weights, never a weight-0 one', () => {
    const pick = createPicker(effectiveMix(MIX, new Map([['condense', 'x']])), seededRandom(5))
    const counts: Record<string, number> = {}
    for (let i = 0; i < 20_000; i++) {
      const name = pick()
      counts[name] = (counts[name] ?? 0) + 1
    }
    expect(counts.condense).toBeUndefined()
    expect(counts.chat / 20_000).toBeCloseTo(5 / 9, 1)
    expect(counts.models / 20_000).toBeCloseTo(1 / 9, 1)
  })

  it('builds engine-neutral requests: auth, JSON bodies, streams with include_usage', () => {
    const workload = createWorkload({
      mix: [
        { name: 'chat-stream', weight: 1 },
        { name: 'condense', weight: 1 },
        { name: 'models', weight: 1 },
      ],
      corpus: { size: 10, zipfExponent: 1, models: ['gpt-4o-mini'] },
      seed: 1,
      apiKey: 'k-123456789',
    })
    const specs = Array.from({ length: 30 }, () => workload.next())
    const stream = specs.find((s) => s.scenario === 'chat-stream')!
    expect(stream).toMatchObject({ method: 'POST', path: '/v1/chat/completions', stream: true })
    expect(stream.headers).toMatchObject({ authorization: 'Bearer k-123456789', accept: 'text/event-stream' })
    expect(JSON.parse(stream.body!)).toMatchObject({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
    })
    const condense = JSON.parse(specs.find((s) => s.scenario === 'condense')!.body!)
    expect(condense).toMatchObject({ model: 'gpt-4o-mini', target_tokens: 256 })
    expect(condense.messages.length).toBeGreaterThan(4)
    const models = specs.find((s) => s.scenario === 'models')!
    expect(models).toMatchObject({ method: 'GET', path: '/v1/models', body: undefined })
  })
})
