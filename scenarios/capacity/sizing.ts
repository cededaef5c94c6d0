// How many instances (and workers) a demand needs. A demand is a number of active users, each sending
// a request, reading its answer (the response time) and thinking before the next (users -> rate =
// users / (think + response)), or a rate directly. An instance carries its lowest resource ceiling
// (boundsFor), or the SLO knee its sweep measured when that is lower, less the headroom; the pool
// limits it would need so that the connections never bind before the next resource come from
// Little's law at that ceiling, with a margin of three standard deviations of a Poisson count
// (L + 3 sqrt(L)).
import type { Demands, Knee, Sizing, SizingOption } from '../../reports/src/capacity-summary.ts'
import { NEAR_LIMIT } from './binding.ts'
import { bindingBound, boundsFor } from './model.ts'

export type SizingInput = {
  readonly headroom: number
  readonly thinkTimeS: number
  readonly responseTimeS: number
  readonly users: readonly number[]
  readonly rates: readonly number[]
  readonly memoryMb: number
  readonly sweeps: readonly {
    readonly workers: number
    readonly demands: Demands | null
    readonly knee: Knee | null
  }[]
}

/** A ceiling on an instance's rate: a modelled resource's, or `slo`, the knee its sweep measured. */
type Ceiling = { readonly resource: string; readonly rate: number | null }

export function usersToRate(users: number, thinkTimeS: number, responseTimeS: number): number {
  const cycle = thinkTimeS + responseTimeS
  return cycle > 0 ? users / cycle : 0
}

/** max_connections per worker that carries `rate` with `connectionsPerRps` in use per req/s. */
export function poolFor(rate: number, connectionsPerRps: number, workers: number): number {
  const load = (rate * connectionsPerRps) / workers
  return Math.max(1, Math.ceil(load + 3 * Math.sqrt(load)))
}

/**
 * The sizing of the instance a sweep measured (`workers` workers, its pools). Its knee is a measurement
 * of that same instance, so it caps the modelled ceilings as it is: a latency that grows with the rate
 * breaks the SLO before any resource runs out, which no resource ceiling sees. Each option is built
 * from its own sweep; an instance of another shape would need its knee scaled, which nothing here does.
 */
export function sizingOption(
  d: Demands,
  workers: number,
  memoryMb: number,
  headroom: number,
  knee: Knee | null,
): SizingOption {
  const bounds = boundsFor(d, { workers, measuredWorkers: workers, memoryMb })
  const slo = kneeCeiling(knee)
  const binding = lower(bindingBound(bounds), slo)
  // The knee was measured with the pools as configured. Where they were nearly full at the first rate
  // that broke the SLO, larger pools may move the knee, and the ceiling with them stays the model's;
  // otherwise the SLO broke for another reason, which larger pools do not remove.
  const connections = bounds.find((b) => b.resource === 'connections')?.rate ?? null
  const poolsBroke =
    knee?.first_fail_rate != null && connections !== null && knee.first_fail_rate >= NEAR_LIMIT * connections
  const modelOthers = bindingBound(bounds.filter((b) => b.resource !== 'connections'))
  const others = poolsBroke ? modelOthers : lower(modelOthers, slo)
  const pools: Record<string, number> = {}
  if (others?.rate) {
    for (const [name, k] of Object.entries(d.connections_per_rps))
      if (k > 0) pools[name] = poolFor(others.rate, k, workers)
  }
  const round = (v: number) => Math.round(v * 100) / 100
  return {
    workers,
    capacity_rps: binding?.rate ?? null,
    binding: binding?.resource ?? 'unknown',
    planned_rps: binding?.rate ? round(binding.rate * (1 - headroom)) : null,
    capacity_with_pools_rps: others?.rate ?? null,
    binding_with_pools: others?.resource ?? null,
    pool_per_worker: pools,
  }
}

/**
 * The measured SLO knee as a ceiling, when the sweep found one: a rate that held below one that broke.
 * A knee that never broke (every rate held) says only that the instance carries at least that much,
 * and caps nothing; one that never held (rate null) leaves no rate to plan an instance at.
 */
function kneeCeiling(knee: Knee | null): Ceiling | null {
  return knee?.bracketed ? { resource: 'slo', rate: knee.rate } : null
}

/** The lower of two ceilings; a knee with no rate (the SLO never held) is the lowest of all. */
function lower(model: Ceiling | null, knee: Ceiling | null): Ceiling | null {
  if (!knee) return model
  if (knee.rate === null || model?.rate == null || knee.rate < model.rate) return knee
  return model
}

export function planSizing(input: SizingInput): Sizing {
  const options = input.sweeps.flatMap((s) =>
    s.demands ? [sizingOption(s.demands, s.workers, input.memoryMb, input.headroom, s.knee)] : [],
  )
  const demands = [
    ...input.users.map((users) => ({
      users,
      rate: usersToRate(users, input.thinkTimeS, input.responseTimeS),
    })),
    ...input.rates.map((rate) => ({ users: null, rate })),
  ]
  const rows = demands.map(({ users, rate }) => {
    const instances = options.map((o) => ({
      workers: o.workers,
      instances: o.planned_rps && o.planned_rps > 0 ? Math.max(1, Math.ceil(rate / o.planned_rps)) : null,
    }))
    // Fewest cores in total (instances x workers), then fewest instances.
    const best = instances
      .filter((i): i is { workers: number; instances: number } => i.instances !== null)
      .sort((a, b) => a.instances * a.workers - b.instances * b.workers || a.instances - b.instances)[0]
    return { users, rate_rps: Math.round(rate * 100) / 100, instances, recommended: best ?? null }
  })
  return {
    headroom: input.headroom,
    think_time_s: input.thinkTimeS,
    response_time_s: Math.round(input.responseTimeS * 100) / 100,
    instance_memory_mb: input.memoryMb,
    options,
    rows,
  }
}
