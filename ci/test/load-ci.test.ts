// load:ci's plumbing: several runs of a tier, where they are written, how baseline:update finds them,
// and one exit code for all the runs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { exitCodeOfAll as ciExitCode, EXIT } from '../../scenarios/run/runner.ts'
import { loadTiers } from '../../scenarios/tiers.ts'
import { acceptable, ciRunsOf } from '../baseline-update.ts'
import { runDirName } from '../load-ci.ts'
import { passedRun } from './run-fixture.ts'

describe('load:ci', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('takes two runs of the medium tier for the gate, one of the others', () => {
    const tiers = loadTiers().tiers
    expect(tiers.get('medium')?.ciRuns).toBe(2)
    for (const name of ['light', 'heavy', 'extreme']) expect(tiers.get(name)?.ciRuns).toBe(1)
  })

  it("writes a tier's runs to <tier>, <tier>-2, ... and baseline:update finds them newest first", () => {
    expect([1, 2, 3].map((round) => runDirName('medium', round))).toEqual(['medium', 'medium-2', 'medium-3'])
    dir = mkdtempSync(join(tmpdir(), 'load-ci-'))
    for (const run of ['ci-20260101T0000/medium', 'ci-20260101T0000/medium-2', 'ci-20260102T0000/medium']) {
      mkdirSync(join(dir, run), { recursive: true })
      writeFileSync(join(dir, run, 'summary.json'), '{}')
    }
    expect(ciRunsOf('medium', dir).map((d) => d.slice(dir!.length + 1))).toEqual([
      'ci-20260102T0000/medium',
      'ci-20260101T0000/medium-2',
      'ci-20260101T0000/medium',
    ])
  })

  it('exits with the worst of its runs: broken, failed, inconclusive, passed', () => {
    expect(ciExitCode(['passed', 'passed'])).toBe(EXIT.passed)
    expect(ciExitCode(['passed', 'inconclusive'])).toBe(3)
    expect(ciExitCode(['inconclusive', 'failed'])).toBe(99)
    expect(ciExitCode(['failed', 'broken'])).toBe(1)
    expect(ciExitCode(['passed'], true)).toBe(130)
  })

  it('never takes an experiment as a baseline run: a proxy started with other node options', () => {
    expect(acceptable(passedRun())).toBe(true)
    // A run that failed only on the regression gate may be an accepted change ...
    expect(acceptable({ ...passedRun(), status: 'failed', status_reason: 'latency_p50_ms regressed' })).toBe(
      true,
    )
    // ... one whose proxy was slowed on purpose, or sped up by a flag it does not ship with, never.
    const experiment = { ...passedRun(), run: { ...passedRun().run, proxy_node_flags: ['--no-turbofan'] } }
    expect(acceptable(experiment)).toBe(false)
    expect(acceptable({ ...passedRun(), status: 'inconclusive' })).toBe(false)
  })
})
