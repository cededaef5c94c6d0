// The regression rule's false-alarm and detection rates on seeded synthetic runs of the medium tier:
// `node ci/gate-simulation.ts [--comparisons N]` prints them (ci/README.md quotes the table), and
// ci/test/gate-simulation.test.ts asserts them.
//
// Each synthetic run is made of the seconds of a real load:ci medium run (test/fixtures/medium-run.json):
// second i is drawn from the real run's seconds i-3..i+3 (so the ramp-up and the cache warming keep
// their shape), then the whole run is scaled by a run factor exp(noise * N(0, 1)): runs of the same code
// that differ by `noise`. A regression adds `addMs` to every request of the current runs.
import { readFileSync } from 'node:fs'
import { type Random, seededRandom } from '../scenarios/random.ts'
import { readCommandLine } from '../scenarios/run/command-line.ts'
import { type BucketSamples, compareRuns, type GateRule, ruleFor } from './gate.ts'

const REAL: readonly (readonly number[])[] = JSON.parse(
  readFileSync(new URL('./test/fixtures/medium-run.json', import.meta.url), 'utf8'),
).latency_ms

function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

export function syntheticRun(random: Random, noise: number, addMs: number): BucketSamples {
  const factor = Math.exp(noise * gaussian(random))
  return REAL.map((_, i) => {
    const from = Math.max(0, i - 3)
    const to = Math.min(REAL.length - 1, i + 3)
    const second = REAL[from + Math.floor(random() * (to - from + 1))]
    return second.map((ms) => ms * factor + addMs)
  })
}

export type Simulation = {
  readonly seed: number
  readonly comparisons: number
  readonly noise: number
  readonly addMs: number
  readonly baselineRuns?: number
  readonly currentRuns?: number
  readonly rule?: GateRule
}

/** What the gate said over many comparisons: the share called regressed, and the median detectable p50 change. */
export function simulate(s: Simulation): { regressed: number; detectableP50: number } {
  const random = seededRandom(s.seed)
  const rule = s.rule ?? ruleFor(95)
  let regressed = 0
  const detectable: number[] = []
  for (let i = 0; i < s.comparisons; i++) {
    const base = Array.from({ length: s.baselineRuns ?? 5 }, () => syntheticRun(random, s.noise, 0))
    const current = Array.from({ length: s.currentRuns ?? 2 }, () => syntheticRun(random, s.noise, s.addMs))
    const verdicts = compareRuns(base, current, rule)
    if (verdicts.some((v) => v.verdict === 'regressed')) regressed++
    detectable.push(verdicts[0].detectable_change ?? Number.NaN)
  }
  detectable.sort((a, b) => a - b)
  return { regressed: regressed / s.comparisons, detectableP50: detectable[detectable.length >> 1] }
}

function main(): void {
  const { values } = readCommandLine({
    usage: 'node ci/gate-simulation.ts [options]',
    about:
      "The regression rule's false-alarm and detection rates on seeded synthetic runs of the medium tier.",
    flags: {
      comparisons: {
        type: 'integer',
        default: 1000,
        min: 1,
        value: 'n',
        help: 'comparisons a row of the table',
      },
    },
  })
  const { comparisons } = values
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`
  process.stdout.write(
    `5 baseline runs against 2 (and 1) current runs of the medium tier, ${comparisons} comparisons a row\n\n`,
  )
  process.stdout.write('noise  false alarms  detects +2 ms  (1 current run)  smallest p50 change seen\n')
  for (const noise of [0, 0.05, 0.1, 0.2, 0.3]) {
    const same = simulate({ seed: 1 + noise * 1000, comparisons, noise, addMs: 0 })
    const slower = simulate({ seed: 3 + noise * 1000, comparisons, noise, addMs: 2 })
    const single = simulate({ seed: 5 + noise * 1000, comparisons, noise, addMs: 2, currentRuns: 1 })
    process.stdout.write(
      `${pct(noise).padEnd(7)}${pct(same.regressed).padEnd(14)}${pct(slower.regressed).padEnd(15)}${pct(single.regressed).padEnd(17)}+${Math.round(same.detectableP50 * 100)} %\n`,
    )
  }
}

if (import.meta.main) main()
