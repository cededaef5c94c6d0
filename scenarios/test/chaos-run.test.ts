// A chaos run end to end, against the real mocks, the real proxy and toxiproxy between them: the
// timeline turns a mock fault and a toxic on and off under load, every phase is judged, the files
// are written, everything started is stopped, and the exit code says what happened.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missingTool } from '../../ci/setup-hint.ts'
import { parseChaosSummary } from '../../reports/src/chaos-summary.ts'
import { runChaos } from '../chaos/runner.ts'
import { parseScenario } from '../chaos/scenario.ts'
import { toxiproxyPath } from '../engines/toxiproxy-build.ts'
import { alive } from './servers.ts'

const SHORT = `
description: A short outage of mock-openai with a slow link to mock-anthropic, judged under load.
load: { rate: 20, duration: 12s, model: gpt-4o, stream_share: 0.5, timeout: 10s }
mocks:
  profile:
    latency: { ttft: { dist: uniform, min: 10ms, max: 30ms }, itl: 5ms }
    completion: { min_tokens: 8, max_tokens: 24 }
phases:
  - name: steady
    start: 0s
    end: 4s
    assert:
      - { kind: success_rate, min: 1 }
      - { kind: health, endpoint: /health/providers, provider: mock-openai, status: [ok] }
  - name: fault
    start: 4s
    end: 8s
    faults:
      - { kind: mock, provider: mock-openai, faults: [{ type: status, status: 503, rate: 1 }] }
      - { kind: network, provider: mock-anthropic, toxic: latency, attributes: { latency: 40, jitter: 10 } }
    assert:
      - { kind: success_rate, min: 1 }
      - { kind: streams_complete }
      - { kind: no_hang }
      - { kind: no_malformed }
  - name: after
    start: 8s
    end: 12s
    assert:
      - { kind: success_rate, min: 1 }
      - { kind: latency, percentile: 50, max_ms: 0.001 }
`

describe('chaos run', () => {
  let dir: string
  beforeAll(() => {
    if (!toxiproxyPath())
      throw new Error(missingTool('toxiproxy v2.12.0', 'toxiproxy, built from its Go module'))
    dir = mkdtempSync(join(tmpdir(), 'chaos-run-test-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('drives faults on a timeline under load, judges each phase, stops everything, exits 99 on a failed assertion', async () => {
    const scenario = parseScenario(SHORT, 'short')
    const outcome = await runChaos({ scenario, out: join(dir, 'short'), progress: null })
    const summary = parseChaosSummary(readFileSync(join(outcome.dir, 'summary.json'), 'utf8'))
    expect(summary.status, summary.status_reason).toBe('failed')
    expect(outcome.exitCode).toBe(99)
    const verdicts = summary.phases.flatMap((p) => p.assertions.map((a) => ({ phase: p.name, ...a })))
    const failed = verdicts.filter((v) => !v.passed)
    expect(failed.map((v) => `${v.phase}:${v.kind}`)).toEqual(['after:latency'])
    expect(summary.phases.map((p) => p.stats.requests)).toEqual([80, 80, 80])
    // The faults really happened: the mock's 503s and the toxic are events, and the proxy failed over.
    const events = summary.events.map((e) => e.text).join('\n')
    expect(events).toContain('mock-openai: mock status 100 % (status 503)')
    expect(events).toContain('link to mock-anthropic: toxiproxy latency (latency 40, jitter 10) downstream')
    expect(events).toContain('link to mock-anthropic: healed')
    const anthropic = summary.upstream['mock-anthropic'].filter((p) => p.t > 5 && p.t < 8)
    expect(Math.max(...anthropic.map((p) => p.rps))).toBeGreaterThan(5)
    expect(summary.breakers['mock-openai']?.length).toBeGreaterThan(5)
    expect(Object.keys(summary.health)).toEqual(
      expect.arrayContaining(['/health', '/health/providers mock-openai']),
    )
    for (const file of [
      'summary.json',
      'report.html',
      'requests.ndjson',
      'health.ndjson',
      'proxy-0.log',
      'mock.log',
      'toxiproxy.log',
    ])
      expect(existsSync(join(outcome.dir, file)), file).toBe(true)
    expect(readFileSync(join(outcome.dir, 'report.html'), 'utf8')).toContain('data-phases="3"')
    expect(outcome.processes.map((p) => p.name)).toEqual(['mock providers', 'toxiproxy', 'proxy-0'])
    for (const p of outcome.processes) expect(alive(p.pid), `${p.name} still runs`).toBe(false)
  }, 90_000)

  it('is broken (exit 1) when a process of the stack dies on its own, and still stops the rest', async () => {
    const scenario = parseScenario(SHORT, 'short')
    const outcome = await runChaos({
      scenario,
      out: join(dir, 'broken'),
      progress: null,
      onStackReady: (stack) => setTimeout(() => process.kill(stack.mockProcess.pid, 'SIGKILL'), 1500),
    })
    expect(outcome.exitCode).toBe(1)
    expect(outcome.summary.status).toBe('broken')
    expect(outcome.summary.status_reason).toMatch(/mock providers \(pid \d+\) exited during the run/)
    for (const p of outcome.processes) expect(alive(p.pid), `${p.name} still runs`).toBe(false)
  }, 90_000)
})
