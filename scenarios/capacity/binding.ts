// Which resource bound the measured knee: at the first rate that broke the SLO (or the max step when
// every rate held), each resource's use as a share of its limit. The upstream pool is full when every
// connection of a provider is in use or requests wait for one; CPU is the proxy's tree against one
// core per worker; memory against the instance budget. The machine's own load is stated beside it:
// on a shared machine the proxy may lose the CPU to others before it uses its own core up.
import type { StepPoint } from '../../reports/src/capacity-summary.ts'
import { MEMORY_USABLE } from './model.ts'

export type Measured = { resource: string; evidence: string }

type Use = { resource: string; share: number; text: string }

const pct = (share: number) => `${Math.round(share * 100)} %`
/** A resource at this share of its limit is the one that binds. */
export const NEAR_LIMIT = 0.9
/** The machine's CPU at this share of its cores is saturated. */
const SATURATED = 0.95
/** Streams holding their connection this much longer than at the lowest rate were slowed down. */
const SLOWED = 1.3

export function measuredBinding(
  steps: readonly StepPoint[],
  options: { workers: number; memoryMb: number; cpuCount: number },
): Measured {
  const rates = steps.filter((p) => p.target_rps !== null).sort((a, b) => a.target_rps! - b.target_rps!)
  const step = rates.find((p) => p.verdict === 'fail') ?? steps.find((p) => p.phase === 'max') ?? rates.at(-1)
  if (!step) return { resource: 'unknown', evidence: 'no step was measured' }
  const res = step.resources
  const uses: Use[] = []
  let poolFull = false
  const providers = Object.keys(res.upstream_limit_by_provider)
  if (providers.length > 0) {
    const fullest = providers
      .map((name) => ({
        name,
        share:
          (res.upstream_in_use_by_provider[name] ?? 0) / Math.max(1, res.upstream_limit_by_provider[name]),
      }))
      .sort((a, b) => b.share - a.share)[0]
    const waiting = (res.upstream_pending ?? 0) >= 1
    poolFull = waiting || fullest.share >= NEAR_LIMIT
    uses.push({
      resource: 'connections',
      share: waiting ? Math.max(1, fullest.share) : fullest.share,
      text: `upstream pool ${fullest.name} ${pct(fullest.share)} in use${waiting ? `, ${Math.round(res.upstream_pending ?? 0)} requests waiting for a connection` : ''}`,
    })
  }
  if (res.proxy_cpu_percent !== null) {
    const loop =
      res.event_loop_utilization === null ? '' : `, event loop ${pct(res.event_loop_utilization)} busy`
    uses.push({
      resource: 'cpu',
      share: res.proxy_cpu_percent / (100 * options.workers),
      text: `proxy CPU ${Math.round(res.proxy_cpu_percent)} % of ${options.workers} core${options.workers > 1 ? 's' : ''}${loop}`,
    })
  }
  if (res.proxy_rss_mb !== null) {
    uses.push({
      resource: 'memory',
      share: res.proxy_rss_mb / (options.memoryMb * MEMORY_USABLE),
      text: `RSS ${Math.round(res.proxy_rss_mb)} MB of ${Math.round(options.memoryMb * MEMORY_USABLE)} MB usable`,
    })
  }
  if (uses.length === 0) return { resource: 'unknown', evidence: 'the target reported no resource figures' }
  uses.sort((a, b) => b.share - a.share)
  const where = step.target_rps === null ? `the max step (${step.users} users)` : `${step.target_rps} req/s`
  const saturated =
    res.machine_busy_percent !== null && res.machine_busy_percent >= SATURATED * 100 * options.cpuCount
  const cpuShare = uses.find((u) => u.resource === 'cpu')?.share ?? 0
  const slowed = slowdown(rates, step)
  const notes = [
    slowed
      ? `streams held their connection ${slowed.holding.toFixed(1)} s against ${slowed.base.toFixed(1)} s at the lowest rate (ITL p95 ${slowed.itl})`
      : '',
    saturated
      ? `the machine's ${options.cpuCount} cores were ${Math.round(res.machine_busy_percent! / options.cpuCount)} % busy (mocks, generator and other processes included): CPU time was contended`
      : '',
    step.generator.limited ? 'the load generator was the limit' : '',
  ].filter(Boolean)
  let resource =
    uses[0].share >= NEAR_LIMIT
      ? uses[0].resource
      : step.generator.limited
        ? 'generator'
        : saturated
          ? 'machine_cpu'
          : uses[0].resource
  // A full pool whose streams slowed down (CPU starved them) ran out because of the CPU, not its size.
  if (poolFull && slowed && slowed.holding >= SLOWED * slowed.base) {
    resource = cpuShare >= NEAR_LIMIT || !saturated ? 'cpu' : 'machine_cpu'
  }
  return { resource, evidence: `at ${where}: ${[...uses.map((u) => u.text), ...notes].join('; ')}` }
}

/** How long a request held its upstream connection (Little: in use / rate) at a step and at the lowest rate. */
function slowdown(
  rates: readonly StepPoint[],
  step: StepPoint,
): { holding: number; base: number; itl: string } | null {
  const holding = (p: StepPoint) =>
    p.resources.upstream_in_use !== null && p.achieved_rps > 0
      ? p.resources.upstream_in_use / p.achieved_rps
      : null
  const low = rates.find((p) => p.verdict === 'pass' && holding(p) !== null)
  const at = holding(step)
  const base = low ? holding(low) : null
  // Connections held for under 50 ms (cache hits, tiny answers) say nothing about slowed streams.
  if (at === null || base === null || base < 0.05 || !low || low === step) return null
  const itl = (p: StepPoint) => (p.itl_ms ? `${Math.round(p.itl_ms.p95)} ms` : '-')
  return { holding: at, base, itl: `${itl(step)} against ${itl(low)}` }
}
