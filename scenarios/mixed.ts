// The mixed workload: scenarios drawn by weight. A skipped scenario (its endpoint is missing) gives
// its weight to the others in proportion to theirs, so the tier keeps its total rate.
import type { Random } from './random.ts'
import type { ScenarioName, WeightedScenario } from './scenario.ts'

export type Skipped = ReadonlyMap<ScenarioName, string>

/**
 * The weights actually run: skipped scenarios get 0 and the others share their weight in proportion,
 * so the total is unchanged (chat 5, stream 3, models 1, condense 1 with condense skipped gives
 * chat 5.56, stream 3.33, models 1.11).
 */
export function effectiveMix(mix: readonly WeightedScenario[], skipped: Skipped): WeightedScenario[] {
  const total = mix.reduce((sum, s) => sum + s.weight, 0)
  const kept = mix.reduce((sum, s) => sum + (skipped.has(s.name) ? 0 : s.weight), 0)
  if (kept <= 0) throw new Error('every scenario with a weight was skipped: nothing left to run')
  const factor = total / kept
  return mix.map((s) => ({ name: s.name, weight: skipped.has(s.name) ? 0 : round(s.weight * factor) }))
}

/** Picks a scenario name by weight. */
export function createPicker(mix: readonly WeightedScenario[], random: Random): () => ScenarioName {
  const live = mix.filter((s) => s.weight > 0)
  if (live.length === 0) throw new Error('no scenario has a weight > 0')
  const total = live.reduce((sum, s) => sum + s.weight, 0)
  const bounds = new Float64Array(live.length)
  let acc = 0
  for (let i = 0; i < live.length; i++) {
    acc += live[i].weight / total
    bounds[i] = acc
  }
  bounds[live.length - 1] = 1
  return () => {
    const u = random()
    let i = 0
    while (bounds[i] <= u) i++
    return live[i].name
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}
