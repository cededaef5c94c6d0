import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadProfile } from '../../mock-providers/src/profile-load.ts'

// The mock profiles the gate's experiments inject regressions with: each must load as the mocks
// would load it, and differ from the baseline profile only by the regression it names.
const DIR = new URL('../profiles/', import.meta.url).pathname
const baseline = loadProfile('baseline')

describe('ci/profiles', () => {
  it.each(readdirSync(DIR).filter((f) => f.endsWith('.yaml')))('%s loads as a mock profile', (file) => {
    const profile = loadProfile(join(DIR, file))
    expect(profile.models).toEqual(baseline.models)
  })

  it('refuses 2 % of answers with a 400 in baseline-plus-errors, and changes nothing else', () => {
    const profile = loadProfile(join(DIR, 'baseline-plus-errors.yaml'))
    expect(profile.faults).toEqual([expect.objectContaining({ type: 'status', status: 400, rate: 0.02 })])
    const same = { faults: [], description: '', name: '' }
    expect({ ...profile, ...same }).toEqual({ ...baseline, ...same })
  })
})
