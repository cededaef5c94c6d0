import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadProfile, ProfileError, parseProfile } from '../src/index.ts'

function issuesOf(input: unknown): readonly string[] {
  try {
    parseProfile(input)
  } catch (error) {
    expect(error).toBeInstanceOf(ProfileError)
    return (error as ProfileError).issues
  }
  throw new Error('expected the profile to be rejected')
}

describe('profiles', () => {
  it.each(['baseline', 'realistic', 'flaky', 'outage', 'zero'])(
    'ships a valid %s profile with models for both wires',
    (name) => {
      const profile = loadProfile(name)
      expect(profile.name).toBe(name)
      expect(profile.models.openai.map((m) => m.id)).toEqual([
        'gpt-4o-mini',
        'gpt-4o',
        'text-embedding-3-small',
      ])
      expect(profile.models.anthropic.map((m) => m.id)).toEqual([
        'claude-3-5-haiku-latest',
        'claude-sonnet-4',
      ])
    },
  )

  it('fills defaults and turns durations into milliseconds', () => {
    const profile = parseProfile({
      latency: { ttft: '1.5s', itl: { dist: 'uniform', min: '20ms', max: 40 } },
    })
    expect(profile.latency.ttft).toEqual({ dist: 'fixed', value: 1500 })
    expect(profile.latency.itl).toEqual({ dist: 'uniform', min: 20, max: 40 })
    expect(profile.faults).toEqual([])
    expect(profile.concurrency).toEqual({ limit: 0, queue: 1024, overflow_status: 503 })
    expect(profile.models.openai[0]).toEqual({
      id: 'gpt-4o-mini',
      context_window: 128000,
      kind: 'chat',
      owned_by: 'mock-openai',
    })
  })

  it('names the bad field of a distribution', () => {
    expect(issuesOf({ latency: { ttft: { dist: 'weibull', value: 1 } } })).toEqual([
      'latency.ttft.dist: expected one of fixed|uniform|normal|lognormal',
    ])
  })

  it('lists every violation at once, with paths into arrays', () => {
    const issues = issuesOf({
      latncy: {},
      latency: { itl: { dist: 'normal', mean: '30ms' } },
      faults: [
        { type: 'status', status: 200, rate: 1 },
        { type: 'explode', rate: 1 },
        { type: 'rate_limit', retry_after: 'soon', rate: 2 },
        { type: 'hang' },
      ],
    })
    expect(issues).toEqual(
      expect.arrayContaining([
        'latncy: unknown field',
        'latency.itl.stddev: required for normal',
        'faults[0].status: Too small: expected number to be >=400',
        'faults[1].type: expected one of status|rate_limit|hang|slow_headers|reset|cut|malformed|duplicate|slow_drip|stream_error|stall',
        "faults[2].retry_after: expected a duration such as '20ms' or '1.5s', or a number of milliseconds",
        'faults[2].rate: Too big: expected number to be <=1',
        'faults[3].rate: a fault needs a rate or a schedule (from/to, every, on_requests)',
      ]),
    )
    expect(issues).toHaveLength(7)
  })

  it('fills the stall defaults and refuses a stall without an interval between keep-alives', () => {
    expect(parseProfile({ faults: [{ type: 'stall', rate: 1 }] }).faults[0]).toMatchObject({
      after_chunks: 0,
      interval: 1000,
    })
    expect(issuesOf({ faults: [{ type: 'stall', interval: 0, rate: 1 }] })).toEqual([
      'faults[0].interval: Too small: expected number to be >0',
    ])
  })

  it('rejects a time window that ends before it starts', () => {
    expect(issuesOf({ faults: [{ type: 'reset', from: '20s', to: '10s' }] })).toEqual([
      'faults[0].to: must be after from',
    ])
  })

  it('loads a profile from a path, YAML or JSON, naming the file in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mock-profile-'))
    writeFileSync(join(dir, 'mine.yaml'), 'latency:\n  ttft: 5ms\n')
    expect(loadProfile(join(dir, 'mine.yaml'))).toMatchObject({
      name: 'mine',
      latency: { ttft: { value: 5 } },
    })
    writeFileSync(join(dir, 'bad.json'), '{"concurrency": {"limit": -1}}')
    expect(() => loadProfile(join(dir, 'bad.json'))).toThrow(/bad\.json[\s\S]*concurrency\.limit/)
    expect(() => loadProfile('no-such-profile')).toThrow(ProfileError)
  })
})
