// `npm run capacity` end to end in a short mode: the real mocks and the real proxy (1 and 2 workers,
// a small pool so it binds at a rate this machine can drive), the sweep, the summary and the report;
// everything started is stopped.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml, stringify } from 'yaml'
import { parseCapacitySummary } from '../../reports/src/capacity-summary.ts'
import { loadCapacityConfig } from '../capacity/config.ts'
import { runCapacity } from '../capacity/run.ts'
import { PROXY_CONFIG } from '../run/stack.ts'
import { alive } from './servers.ts'

const PROFILE = `
description: short streams for the capacity test
latency:
  ttft: { dist: lognormal, median: 60ms, sigma: 0.4, max: 1s }
  itl: { dist: fixed, value: 15ms }
completion: { min_tokens: 10, max_tokens: 30 }
faults: []
`
const POOL = 4

describe('npm run capacity, short mode against the real mocks and proxy', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'capacity-test-'))
    writeFileSync(join(dir, 'profile.yaml'), PROFILE)
    const config = parseYaml(readFileSync(PROXY_CONFIG, 'utf8'))
    config.http_client.pool_limits.max_connections = POOL
    config.logging = { ...config.logging, performance: false }
    writeFileSync(join(dir, 'proxy.yaml'), stringify(config))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('sweeps 1 and 2 workers, finds the knee, checks its prediction, sizes, and stops everything', async () => {
    const base = loadCapacityConfig()
    const outcome = await runCapacity({
      config: {
        ...base,
        mock_profile: join(dir, 'profile.yaml'),
        workers: [1, 2],
        // No error at all: 3 s windows are too short to show a rate of 1 % (100 requests).
        slo: { ttft_p95: 600, itl_p95: null, latency_p95: null, error_rate_max: 0 },
        sloSource: 'test',
        sweep: {
          ...base.sweep,
          max_users: 20,
          rates: 3,
          refine: 1,
          warmup: 2,
          window: 3,
          drain: 4,
          other_workers: { rates: 2, refine: 0 },
        },
      },
      timeScale: 1,
      seed: 3,
      out: join(dir, 'run'),
      proxyConfig: join(dir, 'proxy.yaml'),
      command: 'test',
      log: null,
    })
    expect(outcome.exitCode, outcome.summary.status_reason).toBe(0)
    for (const p of outcome.processes) expect(alive(p.pid), `${p.name} (pid ${p.pid}) still runs`).toBe(false)
    expect(existsSync(join(outcome.dir, 'report.html'))).toBe(true)
    const summary = parseCapacitySummary(readFileSync(join(outcome.dir, 'summary.json'), 'utf8'))
    expect(summary.sweeps.map((s) => s.workers)).toEqual([1, 2])
    const [one, two] = summary.sweeps
    expect(one.points[0]).toMatchObject({ phase: 'max', users: 20 })
    expect(one.max_throughput_rps).toBeGreaterThan(3)
    // Each worker has its own pool: the instance's limit is the sum over providers and workers.
    expect(one.points[0].resources.upstream_limit).toBe(2 * POOL)
    expect(two.points[0].resources.upstream_limit).toBe(4 * POOL)
    // Both workers' pools are counted: more connections in use than one worker has.
    expect(two.points[0].resources.upstream_in_use).toBeGreaterThan(2 * POOL)
    expect(one.points[0].resources.proxy_cpu_percent).toBeGreaterThan(0)
    expect(one.points[0].resources.upstream_sockets).toBeGreaterThan(0)
    expect(one.points.filter((p) => p.phase === 'sweep').length).toBeGreaterThanOrEqual(3)
    const steps = one.points.filter((p) => p.target_rps !== null)
    for (const p of steps) expect(p.ttft_ms?.p50, `${p.target_rps} req/s`).toBeGreaterThan(0)
    expect(one.knee.rate === null || one.knee.rate <= one.max_throughput_rps * 1.2).toBe(true)
    expect(one.demands?.holding_s).toBeGreaterThan(0.1)
    expect(summary.truth?.fit_points).toBeGreaterThanOrEqual(1)
    expect(summary.truth?.held_out.length).toBeGreaterThanOrEqual(1)
    expect(summary.usl_workers?.points.map((p) => p.workers)).toEqual([1, 2])
    expect(summary.sizing?.rows.map((r) => r.users)).toEqual([1000, 10_000, 100_000])
  }, 300_000)
})
