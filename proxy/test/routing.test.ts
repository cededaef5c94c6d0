import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config/load.ts'
import { ProviderRegistry } from '../src/providers/registry.ts'
import { FakeClock } from './fake-clock.ts'

const document = {
  providers: [
    { name: 'a', wire: 'openai', base_url: 'http://127.0.0.1:1/v1' },
    { name: 'b', wire: 'anthropic', base_url: 'http://127.0.0.1:2' },
    { name: 'c', wire: 'openai', base_url: 'http://127.0.0.1:3/v1' },
  ],
  models: {
    ordered: { aliases: ['alias'], deployments: [{ provider: 'a' }, { provider: 'b', model: 'claude-x' }] },
    spread: {
      strategy: 'weighted',
      deployments: [
        { provider: 'a', weight: 6 },
        { provider: 'b', weight: 3 },
        { provider: 'c', weight: 1 },
      ],
    },
  },
}

function registry(random: () => number) {
  return new ProviderRegistry(loadConfig({ document }), { clock: new FakeClock(), random })
}

describe('routing', () => {
  it('resolves names and aliases to deployments, with the model each provider knows', () => {
    const r = registry(Math.random)
    const route = r.route('alias')!
    expect(route.name).toBe('ordered')
    expect(route.deployments.map((d) => [d.provider.name, d.model])).toEqual([
      ['a', 'ordered'],
      ['b', 'claude-x'],
    ])
    expect(r.route('unknown')).toBeUndefined()
    return r.close()
  })

  it('tries priority deployments in the configured order, every time', () => {
    const r = registry(() => 0.99)
    const names = r.order(r.route('ordered')!).map((d) => d.provider.name)
    expect(names).toEqual(['a', 'b'])
    return r.close()
  })

  it('spreads weighted routes by weight and keeps the others as failover', async () => {
    let seed = 1
    // A small LCG: deterministic, uniform enough for a share test.
    const random = () => {
      seed = (seed * 1664525 + 1013904223) % 2 ** 32
      return seed / 2 ** 32
    }
    const r = registry(random)
    const first: Record<string, number> = { a: 0, b: 0, c: 0 }
    for (let i = 0; i < 10_000; i++) {
      const order = r.order(r.route('spread')!).map((d) => d.provider.name)
      expect([...order].sort()).toEqual(['a', 'b', 'c'])
      first[order[0]]++
    }
    expect(first.a / 10_000).toBeCloseTo(0.6, 1)
    expect(first.b / 10_000).toBeCloseTo(0.3, 1)
    expect(first.c / 10_000).toBeCloseTo(0.1, 1)
    await r.close()
  })
})
