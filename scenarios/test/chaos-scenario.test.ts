// Chaos scenario files: the catalogue validates and covers what the product promises; a bad file is
// rejected with every problem named by its field; scaling keeps the timeline honest; the proxy
// configuration a scenario runs with is what it says.
import { describe, expect, it } from 'vitest'
import {
  CHAOS_DIR,
  ChaosScenarioError,
  listScenarios,
  loadScenario,
  parseScenario,
  scaleScenario,
} from '../chaos/scenario.ts'
import { CHAOS_PROXY_DEFAULTS, chaosProxyConfig } from '../chaos/stack.ts'

const CATALOGUE = [
  'outage-fallback',
  'outage-no-fallback',
  '429-storm',
  '429-steady',
  'latency-spike',
  'stream-cuts',
  'malformed-chunks',
  'slow-drip',
  'network-partition',
  'network-latency',
  'connection-resets',
  'redis-down',
  'worker-crash',
  'rolling-restart',
  'overload',
  'provider-hang',
  'provider-stall',
  'provider-stall-failover',
  'hostile-prompts',
  'hostile-json',
]

const VALID = `
description: a valid base to break
load: { rate: 30, duration: 30s, model: gpt-4o, stream_share: 0.5 }
phases:
  - { name: steady, start: 0s, end: 10s, assert: [{ kind: success_rate, min: 0.99 }] }
  - name: fault
    start: 10s
    end: 20s
    faults: [{ kind: mock, provider: mock-openai, faults: [{ type: status, status: 503, rate: 1 }] }]
    assert: [{ kind: breaker, provider: mock-openai, opens_within: 5s, closes_within: 5s }]
  - { name: after, start: 20s, end: 30s }
`

function problems(yamlText: string): Record<string, string> {
  try {
    parseScenario(yamlText, 'broken')
  } catch (error) {
    if (!(error instanceof ChaosScenarioError)) throw error
    return Object.fromEntries(error.issues.map((i) => [i.path, i.message]))
  }
  throw new Error('the scenario was accepted')
}

describe('chaos scenarios', () => {
  it('the catalogue has every promised scenario, and each one validates', () => {
    expect(listScenarios()).toEqual([...CATALOGUE].sort())
    for (const name of CATALOGUE) {
      const s = loadScenario(name)
      expect(s.phases.length, name).toBeGreaterThanOrEqual(2)
      expect(
        s.phases.some((p) => p.faults.length > 0) || s.phases.some((p) => p.rate !== undefined),
        name,
      ).toBe(true)
      expect(s.phases.flatMap((p) => p.assert).length, name).toBeGreaterThan(0)
    }
  })

  it('the catalogue uses every fault source: mock, toxiproxy toxics, worker kill, rolling restart, Redis, hostile clients', () => {
    const faults = CATALOGUE.flatMap((n) => loadScenario(n).phases.flatMap((p) => p.faults))
    const kinds = new Set(faults.map((f) => (f.kind === 'network' ? `network:${f.toxic}` : f.kind)))
    for (const kind of [
      'mock',
      'kill_worker',
      'rolling_restart',
      'redis_down',
      'hostile_prompts',
      'network:latency',
      'network:bandwidth',
      'network:timeout',
      'network:reset_peer',
      'network:slicer',
    ])
      expect(kinds, kind).toContain(kind)
  })

  it('names every problem of a bad scenario by its field, all at once', () => {
    const found = problems(`
description: many problems
load: { rate: -1, duration: 30s, model: gpt-4o, stream_share: 2 }
phases:
  - { name: steady, start: 0s, end: 10s, assert: [{ kind: success_rate, min: 1.5 }], asserts: [] }
  - name: fault
    start: 10s
    end: 20s
    faults:
      - { kind: mock, provider: mock-openai, faults: [{ type: status, status: 99, rate: 1 }] }
      - { kind: network, provider: mock-openai, toxic: latency, attributes: { latency: slow } }
      - { kind: network, provider: mock-nobody, down: true }
  - { name: after, start: 20s, end: 30s, assert: [{ kind: latency, percentile: 99 }, { kind: teleport }] }
`)
    expect(Object.keys(found)).toEqual(
      expect.arrayContaining([
        'load.rate',
        'load.stream_share',
        'phases.0',
        'phases.0.assert.0.min',
        'phases.1.faults.0.faults.0.status',
        'phases.1.faults.1.attributes.latency',
        'phases.1.faults.2.provider',
        'phases.2.assert.0.max_ms',
        'phases.2.assert.1.kind',
      ]),
    )
    expect(found['phases.0']).toMatch(/asserts/)
  })

  it('checks the timeline and what each fault and assertion needs', () => {
    const found = problems(`
description: a timeline that does not fit
load: { rate: 10, duration: 30s, model: gpt-4o }
toxiproxy: false
phases:
  - name: steady
    start: 0s
    end: 10s
    faults: [{ kind: kill_worker }, { kind: rolling_restart }, { kind: redis_down }]
    assert: [{ kind: success_rate, min: 0.9 }, { kind: success_rate, min: 0.9, after: 20s }]
  - name: fault
    start: 12s
    end: 20s
    faults: [{ kind: network, provider: mock-anthropic, down: true }]
    assert: [{ kind: breaker, provider: mock-openai, opens_within: 5s, closes_within: 15s }]
  - name: after
    start: 20s
    end: 25s
    assert: [{ kind: latency, percentile: 99, relative_to: nowhere }, { kind: drain, within: 5s }]
`)
    expect(found).toMatchObject({
      'phases.1.start': expect.stringContaining('10 s'),
      'phases.2.end': expect.stringContaining('load.duration'),
      'phases.0.faults.0': expect.stringContaining('workers >= 2'),
      'phases.0.faults.1': expect.stringContaining('instances >= 2'),
      'phases.0.faults.2': expect.stringContaining('redis: true'),
      'phases.0.assert.1.after': expect.stringContaining('leaves nothing'),
      'phases.2.assert.1': expect.stringContaining('rolling_restart'),
      'phases.1.assert.0.closes_within': expect.stringContaining('left after this phase'),
      'phases.1.faults.0': expect.stringContaining('toxiproxy: true'),
      'phases.2.assert.0.relative_to': expect.stringContaining("no phase named 'nowhere'"),
    })
  })

  it('refuses a success rate on a window too short to show it, at any time scale', () => {
    const found = problems(`
description: windows too short for their success rates
load: { rate: 20, duration: 40s, model: gpt-4o, stream_share: 0.5 }
phases:
  - name: steady
    start: 0s
    end: 10s
    assert: [{ kind: success_rate, min: 0.995 }, { kind: success_rate, min: 0.99 }]
  - name: fault
    start: 10s
    end: 30s
    assert:
      - { kind: success_rate, min: 0.995, scenarios: [chat] }
      - { kind: success_rate, min: 0.99, scenarios: [chat] }
      - { kind: success_rate, min: 1, after: 19s }
  - name: after
    start: 30s
    end: 40s
    rate: 40
    assert: [{ kind: success_rate, min: 0.995, after: 4s }]
`)
    // 200 planned requests: 99 % needs 100 (110 with a tenth to spare), 99.5 % needs 200 (220).
    expect(found).toEqual({
      'phases.0.assert.0.min':
        '10 s at 20 req/s is about 200 requests; showing 99.5 % (with fewer, one failure breaches it) takes 200, 220 with a tenth to spare: 11 s at this rate. Lengthen the window or raise the rate',
      // Half the requests are chat: 200 over 20 s cannot show 99.5 %, they show 99 %.
      'phases.1.assert.0.min': expect.stringContaining('20 s at 10 req/s of chat is about 200 requests'),
      // The phase's own rate: 6 s at 40 req/s is 240.
    })
    // A percentile needs as many: a p99 100 requests, a p95 20; in the window and in the phase it is
    // compared with.
    expect(
      problems(`
description: latency windows too short for their percentiles
load: { rate: 20, duration: 30s, model: gpt-4o }
phases:
  - { name: steady, start: 0s, end: 4s }
  - name: fault
    start: 4s
    end: 30s
    assert:
      - { kind: latency, percentile: 99, max_ms: 100, after: 22s }
      - { kind: latency, percentile: 95, max_ms: 100, after: 24s }
      - { kind: latency, percentile: 99, relative_to: steady, factor: 2 }
`),
    ).toEqual({
      'phases.1.assert.0.percentile':
        '4 s at 20 req/s is about 80 requests; a p99 (with fewer, it is their largest) takes 100, 110 with a tenth to spare: 5.5 s at this rate. Lengthen the window or raise the rate',
      'phases.1.assert.2.relative_to': expect.stringMatching(
        /^steady: 4 s at 20 req\/s is about 80 requests/,
      ),
    })
    // A success rate of a kind the load never sends cannot be shown at all.
    expect(
      problems(`
description: streams only, judged on plain chat
load: { rate: 20, duration: 20s, model: gpt-4o, stream_share: 1 }
phases:
  - { name: only, start: 0s, end: 20s, assert: [{ kind: success_rate, min: 0.99, scenarios: [chat] }] }
`),
    ).toEqual({
      'phases.0.assert.0.min':
        'the load sends no request of chat: showing 99 % (with fewer, one failure breaches it) takes 100',
    })
    const fine = parseScenario(VALID, 'valid')
    expect(() => scaleScenario(fine, 0.3)).toThrow(
      /phases\.0\.assert\.0\.min: 3 s at 30 req\/s is about 90 requests/,
    )
  })

  it('reports YAML that does not parse, and an unknown mock profile', () => {
    expect(problems('load: [')).toHaveProperty(['(root)'])
    expect(problems(`${VALID}mocks: { profile: no-such-profile }\n`)['mocks.profile']).toMatch(/cannot read/)
    expect(() => loadScenario('no-such-scenario')).toThrow(/known: .*outage-fallback/)
  })

  it('scales the timeline, not the proxy timers, and refuses a scale that leaves no room', () => {
    const s = parseScenario(VALID, 'valid')
    const half = scaleScenario(s, 0.5)
    expect(half.load.duration).toBe(15)
    expect(half.phases.map((p) => [p.start, p.end])).toEqual([
      [0, 5],
      [5, 10],
      [10, 15],
    ])
    expect(half.phases[1].assert[0]).toMatchObject({ opens_within: 5, closes_within: 5 })
    expect(() => scaleScenario(s, 0.2)).toThrow(ChaosScenarioError)
    for (const name of CATALOGUE) {
      const scenario = loadScenario(name)
      if (scenario.ci) expect(() => scaleScenario(scenario, scenario.ci!.scale), name).not.toThrow()
    }
  })

  it('runs the proxy on proxy/config.yaml with the chaos defaults, the scenario settings, workers and Redis', () => {
    const s = loadScenario('redis-down')
    const links = { openai: 'http://127.0.0.1:1', anthropic: 'http://127.0.0.1:2' }
    const { config, overrides } = chaosProxyConfig(s, links, 'chaos-key-123456', 'redis://127.0.0.1:6390')
    expect(config).toMatchObject({
      server: { port: 0, workers: 1 },
      auth: { api_keys: ['chaos-key-123456'] },
      caching: { enabled: true, redis: { url: 'redis://127.0.0.1:6390' } },
      circuit_breaker: { recovery_timeout: CHAOS_PROXY_DEFAULTS.circuit_breaker.recovery_timeout },
      providers: [
        { name: 'mock-openai', base_url: 'http://127.0.0.1:1/v1' },
        { name: 'mock-anthropic', base_url: 'http://127.0.0.1:2' },
      ],
    })
    expect(JSON.stringify(overrides)).not.toContain('chaos-key')
    const restart = chaosProxyConfig(loadScenario('rolling-restart'), links, 'chaos-key-123456', null)
    expect(restart.config).toMatchObject({ server: { shutdown_timeout: 10 }, caching: { enabled: false } })
  })

  it('refuses a model the proxy configuration does not route', () => {
    const s = parseScenario(VALID.replace('model: gpt-4o', 'model: gpt-9'), 'unrouted')
    expect(() =>
      chaosProxyConfig(s, { openai: 'http://a:1', anthropic: 'http://b:2' }, 'chaos-key-123456', null),
    ).toThrow(/load.model: not routed by the proxy configuration: gpt-9/)
  })

  it('lives in scenarios/chaos', () => {
    expect(CHAOS_DIR).toMatch(/scenarios\/chaos\/$/)
  })
})
