// Capacity summaries for the report tests: the synthetic proxy of the scenario tests swept with 1 and
// 2 workers through the real pipeline (sweep, knee, model, held-out check, sizing), so the fixture has
// every section a real run has.

import { loadCapacityConfig } from '../../scenarios/capacity/config.ts'
import { buildCapacitySummary } from '../../scenarios/capacity/run.ts'
import { runSweep } from '../../scenarios/capacity/sweep.ts'
import { DEFAULT_PROXY, sweepOptions } from '../../scenarios/test/capacity-synthetic.ts'
import type { CapacitySummary } from '../src/capacity-summary.ts'
import { parseCapacitySummary } from '../src/capacity-summary.ts'

/** Chart names of a two-worker capacity report, in display order. */
export const CAPACITY_CHARTS = [
  'throughput-latency',
  'usl',
  'prediction',
  'concurrency',
  'resources-1',
  'resources-2',
]

export async function capacitySummary(): Promise<CapacitySummary> {
  const config = loadCapacityConfig()
  const one = await runSweep(sweepOptions(DEFAULT_PROXY))
  const two = await runSweep(
    sweepOptions({ ...DEFAULT_PROXY, workers: 2, cpuIdlePercent: 30 }, { check: false, rates: 4, refine: 1 }),
  )
  return parseCapacitySummary(
    buildCapacitySummary({
      options: { config, timeScale: 1, seed: 42, command: 'npm run capacity' },
      runId: '20261130-120000-capacity-abcd',
      startedAt: new Date('2026-11-30T12:00:00Z'),
      endedAt: new Date('2026-11-30T12:14:00Z'),
      sweeps: [one.sweep, two.sweep],
      prediction: one.forecast,
      broken: null,
    }),
  )
}
