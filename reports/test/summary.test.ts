import { describe, expect, it } from 'vitest'
import { evaluateBaseline } from '../src/baseline.ts'
import {
  parseSummary,
  READABLE_VERSIONS,
  type RunSummary,
  SCHEMA_VERSION,
  SummaryError,
} from '../src/summary.ts'
import { ALL_FIXTURES, failedSummary, passedSummary } from './fixtures.ts'

// biome-ignore lint/suspicious/noExplicitAny: these tests write deliberately invalid values into summaries
type Invalid = any

function issuesOf(value: unknown): { path: string; message: string }[] {
  try {
    parseSummary(value)
  } catch (error) {
    expect(error).toBeInstanceOf(SummaryError)
    return (error as SummaryError).issues
  }
  throw new Error('expected the summary to be rejected')
}

function paths(value: unknown): string[] {
  return issuesOf(value).map((i) => i.path)
}

describe('parseSummary', () => {
  it.each(Object.entries(ALL_FIXTURES))(
    'accepts the %s fixture, as an object and as JSON text',
    (_, make) => {
      const summary = make()
      expect(parseSummary(summary)).toEqual(summary)
      expect(parseSummary(JSON.stringify(summary))).toEqual(JSON.parse(JSON.stringify(summary)))
    },
  )

  it('names every violation by its path in one error', () => {
    const bad = passedSummary() as unknown as Invalid
    bad.run.engine = 'jmeter'
    bad.run.started_at = 'yesterday'
    bad.totals.error_rate = 1.5
    bad.scenarios[0].latency_ms.p95 = 1
    bad.timeseries.points[3].t = bad.timeseries.points[2].t
    bad.latency_histogram.buckets[0].count = -1
    bad.baselines[0].comparator = '=='
    bad.tier.latency_target.percentile = 100
    const found = paths(bad)
    expect(found).toEqual(
      expect.arrayContaining([
        'run.engine',
        'run.started_at',
        'totals.error_rate',
        'scenarios[0].latency_ms.p95',
        'timeseries.points[3].t',
        'latency_histogram.buckets[0].count',
        'baselines[0].comparator',
        'tier.latency_target.percentile',
      ]),
    )
  })

  it('knows the two engines of the harness, native and autocannon, and no other', () => {
    for (const engine of ['native', 'autocannon']) {
      const summary = passedSummary()
      summary.run.engine = engine as RunSummary['run']['engine']
      expect(parseSummary(summary).run.engine).toBe(engine)
    }
    const k6 = passedSummary() as unknown as Invalid
    k6.run.engine = 'k6'
    expect(paths(k6)).toEqual(['run.engine'])
  })

  it('lists the violations in the error message, one per line', () => {
    const bad = passedSummary() as unknown as Invalid
    bad.run.seed = 1.5
    delete bad.environment.cpu_count
    expect(() => parseSummary(bad)).toThrow(/run\.seed: .*\n.*environment\.cpu_count: /)
  })

  it('rejects unknown keys, so a misspelt field is not silently dropped', () => {
    const bad = passedSummary() as unknown as Invalid
    bad.totals.latency_ms.p95ms = 3
    bad.timeseries.points[0].p90_ms = 3
    expect(
      issuesOf(bad)
        .map((i) => `${i.path} ${i.message}`)
        .join('\n'),
    ).toMatch(/totals\.latency_ms.*p95ms/)
    expect(paths(bad)).toContain('timeseries.points[0]')
  })

  it('rejects a passed status with a failing baseline, and a failed status without one', () => {
    const passed = { ...failedSummary(), status: 'passed', regression: undefined }
    expect(paths(passed)).toEqual(['status'])
    const failed = { ...passedSummary(), status: 'failed' }
    expect(paths(failed)).toEqual(['status'])
  })

  it('reads a schema 1 summary as the current schema, saying it was upgraded', () => {
    // Version 1 judged a run failed even when its generator was the limit: read as it was written.
    const v1 = { ...failedSummary(), schema_version: 1, generator: { achieved_rps: 60, limited: true } }
    const read = parseSummary(JSON.stringify(v1))
    expect(read).toMatchObject({ schema_version: SCHEMA_VERSION, upgraded_from: 1, status: 'failed' })
    expect(READABLE_VERSIONS).toEqual([1, 2, 3])
    expect(paths({ ...v1, status: 'inconclusive' })).toEqual(['status'])
  })

  it('reads a schema 2 summary as schema 3 unchanged: version 3 only added fields', () => {
    const v2 = { ...passedSummary(), schema_version: 2 }
    expect(parseSummary(JSON.stringify(v2))).toEqual({
      ...passedSummary(),
      schema_version: 3,
      upgraded_from: 2,
    })
    const limited = { achieved_rps: 4, limited: true, reasons: ['its CPU was 95 % of a core'] }
    expect(paths({ ...v2, status: 'passed', generator: limited })).toEqual(['status'])
  })

  it('refuses a summary of a newer or unknown schema by name, without half-reading it', () => {
    expect(issuesOf({ ...passedSummary(), schema_version: 4 })).toEqual([
      {
        path: 'schema_version',
        message: expect.stringMatching(
          /^schema version 4 is not one this reader knows \(1, 2, 3\): .*newer harness/,
        ),
      },
    ])
    expect(paths({ ...passedSummary(), schema_version: 'two' })).toEqual(['schema_version'])
  })

  it('calls a run whose generator may have been the limit inconclusive, never passed or failed', () => {
    const limited = { achieved_rps: 4, limited: true, reasons: ['its CPU was 95 % of a core'] }
    expect(parseSummary({ ...passedSummary(), status: 'inconclusive', generator: limited }).status).toBe(
      'inconclusive',
    )
    expect(paths({ ...passedSummary(), generator: limited })).toEqual(['status'])
    expect(paths({ ...failedSummary(), generator: limited })).toEqual(['status'])
    expect(paths({ ...passedSummary(), status: 'inconclusive' })).toEqual(['status'])
  })

  it('calls a run inconclusive, never passed, when the regression gate it required could not run', () => {
    const skipped = { reason: 'no baseline (ci/baselines/light.json)', required: true }
    const ungated = { ...passedSummary(), status: 'inconclusive', regression_skipped: skipped }
    expect(parseSummary(ungated).status).toBe('inconclusive')
    expect(paths({ ...passedSummary(), regression_skipped: skipped })).toEqual(['status'])
    // Not required: the run passes, and says it was not gated.
    const optional = { ...skipped, required: false }
    expect(parseSummary({ ...passedSummary(), regression_skipped: optional }).regression_skipped).toEqual(
      optional,
    )
    expect(paths({ ...passedSummary(), status: 'inconclusive', regression_skipped: optional })).toEqual([
      'status',
    ])
    // A gate either judged the run or did not.
    expect(paths({ ...failedSummary(), regression_skipped: optional })).toEqual(['regression_skipped'])
  })

  it('rejects a skipped scenario that reports requests', () => {
    const bad = passedSummary()
    bad.scenarios[2].requests = 4
    expect(paths(bad)).toEqual(['scenarios[2].skipped'])
  })

  it('rejects a run that ends before it starts and more errors than requests', () => {
    const bad = passedSummary()
    bad.run.ended_at = '2026-05-04T13:00:00Z'
    bad.totals.errors = bad.totals.requests + 1
    expect(paths(bad).sort()).toEqual(['run.ended_at', 'totals.errors'])
  })

  it('rejects text that is not JSON at the root', () => {
    expect(paths('{"schema_version":')).toEqual(['(root)'])
  })

  it('accepts a summary with no optional part at all', () => {
    const summary: RunSummary = ALL_FIXTURES.minimal()
    for (const key of [
      'timeseries',
      'latency_histogram',
      'proxy_metrics',
      'regression',
      'generator',
      'status_reason',
    ]) {
      expect(summary).not.toHaveProperty(key)
    }
    expect(parseSummary(summary).status).toBe('broken')
  })
})

describe('evaluateBaseline', () => {
  const p95 = { name: 'p95', metric: 'latency_p95_ms', comparator: '<', threshold: 500, unit: 'ms' } as const

  it('gives the headroom below an upper limit as a positive fraction', () => {
    expect(evaluateBaseline(p95, 380)).toMatchObject({ passed: true, actual: 380, margin: 0.24 })
  })

  it('gives a breach as a negative margin and fails', () => {
    expect(evaluateBaseline(p95, 600)).toMatchObject({ passed: false, margin: -0.2 })
  })

  it('measures a lower limit the other way round', () => {
    const rps = { name: 'rps', metric: 'rps', comparator: '>=', threshold: 80 } as const
    expect(evaluateBaseline(rps, 90)).toMatchObject({ passed: true, margin: 0.125 })
    expect(evaluateBaseline(rps, 80)).toMatchObject({ passed: true, margin: 0 })
    expect(evaluateBaseline({ ...rps, comparator: '>' }, 80).passed).toBe(false)
  })

  it('fails a metric that was not measured, with no margin', () => {
    expect(evaluateBaseline(p95, null)).toMatchObject({ passed: false, actual: null, margin: null })
  })

  it('has no margin against a zero threshold', () => {
    const errors = { name: 'no errors', metric: 'errors', comparator: '<=', threshold: 0 } as const
    expect(evaluateBaseline(errors, 0)).toMatchObject({ passed: true, margin: null })
  })
})
