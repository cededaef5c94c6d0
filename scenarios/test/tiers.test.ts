import { describe, expect, it } from 'vitest'
import { loadTiers, parseTiers, scaleTier, type TierError } from '../tiers.ts'

function problems(yaml: string): { path: string; message: string }[] {
  try {
    parseTiers(yaml)
  } catch (error) {
    expect((error as Error).name).toBe('TierError')
    return (error as TierError).issues
  }
  throw new Error('expected the tiers to be rejected')
}

const VALID_TIER = `
    users: 10
    duration: 1m
    ramp_up: 10s
    expected_rps: 2
    latency: { max_ms: 200 }
    error_rate_max: 0.01
    scenarios: [{ name: chat, weight: 1 }]`

describe('tiers.yaml', () => {
  it('holds the four seed tiers of the performance guide', () => {
    const { tiers } = loadTiers()
    const seed = [...tiers.values()].map((t) => [
      t.name,
      t.users,
      t.expectedRps,
      t.latency.maxMs,
      t.errorRateMax,
    ])
    expect(seed).toEqual([
      ['light', 30, 5, 200, 0.01],
      ['medium', 100, 20, 300, 0.02],
      ['heavy', 400, 80, 500, 0.05],
      ['extreme', 1000, 200, 1000, 0.1],
    ])
    expect(tiers.get('heavy')).toMatchObject({ durationS: 900, rampUpS: 300, latency: { percentile: 95 } })
    expect(tiers.get('extreme')).toMatchObject({ durationS: 600, rampUpS: 120 })
  })

  it('sizes think times so that the closed model reaches about expected_rps', () => {
    for (const tier of loadTiers().tiers.values()) {
      const meanThink = (tier.thinkTimeS!.min + tier.thinkTimeS!.max) / 2
      expect(tier.users / meanThink).toBeCloseTo(tier.expectedRps, 5)
    }
  })

  it('time-scales load:ci to about 45 s a tier', () => {
    for (const tier of loadTiers().tiers.values()) expect(tier.durationS * tier.ciScale).toBeCloseTo(45, 5)
  })
})

describe('parseTiers', () => {
  it('names every problem by its field, all in one error', () => {
    const found = problems(`
tiers:
  broken:
    users: -3
    duration: soon
    expected_rps: 5
    latency: { percentile: 100 }
    error_rate_max: 2
    scenarios: [{ name: chat2, weight: 1 }]
    user: 30
`)
    const paths = found.map((p) => p.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'tiers.broken.users',
        'tiers.broken.duration',
        'tiers.broken.latency.percentile',
        'tiers.broken.latency.max_ms',
        'tiers.broken.error_rate_max',
        'tiers.broken.scenarios.0.name',
      ]),
    )
    // A misspelt key is an error, not a silently ignored line.
    expect(found.some((p) => p.path === 'tiers.broken' && p.message.includes('user'))).toBe(true)
    expect(found.find((p) => p.path === 'tiers.broken.duration')?.message).toMatch(/'soon' is not a duration/)
  })

  it('lists the problems in the message, one per line, with the file name', () => {
    expect(() => parseTiers('tiers: { x: { users: 0 } }', 'my-tiers.yaml')).toThrow(
      /invalid my-tiers\.yaml \(\d+ problems\):\n {2}- tiers\.x\.users: /,
    )
  })

  it('rejects think times that cannot reach the expected rate', () => {
    const found = problems(`tiers:\n  slow:${VALID_TIER}\n    think_time: { min: 8s, max: 12s }\n`)
    expect(found).toEqual([
      {
        path: 'tiers.slow.think_time',
        message: expect.stringMatching(/10 users thinking 10 s .* 1\.00 req\/s, below expected_rps 2/),
      },
    ])
  })

  it('rejects a ramp-up as long as the run, and a scenario list without weight', () => {
    const found = problems(
      `tiers:\n  t:${VALID_TIER.replace('ramp_up: 10s', 'ramp_up: 1m').replace('weight: 1', 'weight: 0')}\n`,
    )
    expect(found.map((p) => p.path).sort()).toEqual(['tiers.t.ramp_up', 'tiers.t.scenarios'])
  })

  it('takes the scenario mix and load model from defaults when a tier has none', () => {
    const { tiers } = parseTiers(`
defaults:
  load_model: closed
  scenarios: [{ name: models, weight: 2 }]
tiers:
  t: { users: 1, duration: 30, expected_rps: 1, latency: { max_ms: 9 }, error_rate_max: 0 }
`)
    expect(tiers.get('t')).toMatchObject({
      durationS: 30,
      rampUpS: 0,
      loadModel: 'closed',
      arrival: 'constant',
      scenarios: [{ name: 'models', weight: 2 }],
    })
  })

  it('scales duration and ramp-up, never users or rates', () => {
    const light = loadTiers().tiers.get('light')!
    expect(scaleTier(light, 0.1)).toMatchObject({ durationS: 30, rampUpS: 3, users: 30, expectedRps: 5 })
    expect(() => scaleTier(light, 0)).toThrow(RangeError)
  })
})
