import type { Fault, FaultType, RouteName } from './profile-schema.ts'
import type { Random } from './random.ts'

/** Faults that change a stream's chunks; they never match a non-streaming request. */
const STREAM_ONLY: ReadonlySet<FaultType> = new Set([
  'cut',
  'malformed',
  'duplicate',
  'slow_drip',
  'stream_error',
])

export interface FaultContext {
  route: RouteName
  stream: boolean
  /** ms since the mock started or was last reset. */
  elapsedMs: number
}

/**
 * Picks the fault for one request. Each fault is evaluated on its own, in profile order:
 * 1. filters: `routes`, `stream`, and stream-only types; a request that passes them increments the
 *    fault's own counter (1-based; `every`/`on_requests` refer to it: "the 3rd streaming chat request");
 * 2. schedule: `from` <= elapsed < `to` (since start or reset), `every` N-th, `on_requests` list;
 * 3. `rate`: a die rolled from the mock's seeded random, only when the schedule holds.
 * The first fault that fires wins; later ones still count and roll, so each fault's firing
 * sequence is independent of the faults listed before it. `counters` is the mock's state, one per fault.
 */
export function pickFault(
  faults: readonly Fault[],
  counters: number[],
  ctx: FaultContext,
  random: Random,
): Fault | null {
  let picked: Fault | null = null
  for (let i = 0; i < faults.length; i++) {
    const fault = faults[i]
    if (fault.routes !== undefined && !fault.routes.includes(ctx.route)) continue
    if (fault.stream !== undefined && fault.stream !== ctx.stream) continue
    if (!ctx.stream && STREAM_ONLY.has(fault.type)) continue
    const index = ++counters[i]
    if (fault.from !== undefined && ctx.elapsedMs < fault.from) continue
    if (fault.to !== undefined && ctx.elapsedMs >= fault.to) continue
    if (fault.every !== undefined && index % fault.every !== 0) continue
    if (fault.on_requests !== undefined && !fault.on_requests.includes(index)) continue
    if (fault.rate !== undefined && random.next() >= fault.rate) continue
    if (picked === null) picked = fault
  }
  return picked
}
