// The capacity model: per-request demands measured at rates the proxy carries easily, turned into
// ceilings and predictions by operational laws.
//
// - Little's law: connections in use = rate x holding time, per provider; the pool's max_connections
//   (times the workers) bounds the rate at limit / (connections per req/s).
// - Utilization law: proxy CPU = idle + rate x CPU per request (least squares); W workers give at
//   most W cores.
// - Memory: RSS = base + streams x memory per stream (least squares) against the instance's budget.
// - File descriptors: two per stream (client and upstream socket) against the process limit.
// - Queueing in front of each provider's pool (c connections, offered load A = rate x holding share):
//   Erlang C gives the probability a request waits, with a tail exp(-(c - A) t / (T f)), where the
//   Allen-Cunneen factor f = (Ca^2 + Cs^2) / 2 corrects M/M/c for the measured variability of
//   holding times (Cs^2) and of arrivals (Ca^2: 1 for Poisson; 1 - share for a provider's share of
//   evenly spaced arrivals). Predicted TTFT and latency = their low-load value + the wait.
import { linearRegression, median } from 'simple-statistics'
import type { Bound, Demands, Slo, StepPoint } from '../../reports/src/capacity-summary.ts'

/** Share of the instance memory budget usable before the proxy's own emergency cleanup (memory.max_usage_percent). */
export const MEMORY_USABLE = 0.85
/** Descriptors a process keeps besides its streams (listeners, logs, pipes). */
const FD_RESERVE = 100

export type Arrivals = 'constant' | 'poisson'

const r = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits
const nums = (values: readonly (number | null | undefined)[]) =>
  values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
const medianOrNull = (values: readonly (number | null | undefined)[]) => {
  const v = nums(values)
  return v.length ? r(median(v)) : null
}

/** Least-squares slope through the origin: y = k x. */
function throughOrigin(pairs: readonly [number, number][]): number {
  const sxx = pairs.reduce((s, [x]) => s + x * x, 0)
  return sxx > 0 ? pairs.reduce((s, [x, y]) => s + x * y, 0) / sxx : 0
}

/** y = a + b x by least squares; through the origin with one point. */
function line(pairs: readonly [number, number][]): { a: number; b: number } | null {
  if (pairs.length === 0) return null
  if (pairs.length === 1 || new Set(pairs.map(([x]) => x)).size === 1)
    return { a: 0, b: throughOrigin(pairs) }
  const { m, b } = linearRegression(pairs.map(([x, y]) => [x, y]))
  return { a: b, b: m }
}

/** Demands from steps that held (rate steps well below the knee), measured with `workers` workers. */
export function measureDemands(
  points: readonly StepPoint[],
  options: { workers: number; fdLimit?: number | null },
): Demands | null {
  const steps = points.filter((p) => p.target_rps !== null && p.verdict === 'pass' && p.achieved_rps > 0)
  if (steps.length === 0) return null
  const rate = (p: StepPoint) => p.achieved_rps
  const providers = [...new Set(steps.flatMap((p) => Object.keys(p.resources.upstream_in_use_by_provider)))]
  const perRps: Record<string, number> = {}
  for (const name of providers)
    perRps[name] = r(
      throughOrigin(steps.map((p) => [rate(p), p.resources.upstream_in_use_by_provider[name] ?? 0])),
      4,
    )
  const last = steps[steps.length - 1].resources.upstream_limit_by_provider
  const limits: Record<string, number> = {}
  for (const [name, limit] of Object.entries(last)) limits[name] = r(limit / options.workers, 1)
  const cpu = line(
    nums(steps.map((p) => p.resources.proxy_cpu_percent)).length === steps.length
      ? steps.map((p) => [rate(p), p.resources.proxy_cpu_percent as number])
      : [],
  )
  const rss = line(
    steps.flatMap((p) =>
      p.resources.proxy_rss_mb === null ? [] : [[p.concurrency.mean, p.resources.proxy_rss_mb]],
    ),
  )
  const errors = steps.reduce((s, p) => s + p.errors, 0)
  const started = steps.reduce((s, p) => s + p.started, 0)
  return {
    points: steps.length,
    holding_s: r(throughOrigin(steps.map((p) => [rate(p), p.concurrency.mean])), 4),
    connections_per_rps: perRps,
    pool_limit_by_provider: limits,
    cpu_percent_per_rps: cpu && cpu.b > 0 ? r(cpu.b, 4) : null,
    cpu_idle_percent: cpu && cpu.b > 0 ? r(Math.max(0, cpu.a), 2) : null,
    rss_mb_per_stream: rss ? r(Math.max(0, rss.b), 4) : null,
    rss_base_mb: rss ? r(rss.a, 1) : null,
    fd_limit: options.fdLimit ?? null,
    ttft_p95_ms: medianOrNull(steps.map((p) => p.ttft_ms?.p95)),
    itl_p95_ms: medianOrNull(steps.map((p) => p.itl_ms?.p95)),
    latency_p95_ms: medianOrNull(steps.map((p) => p.latency_ms?.p95)),
    latency_mean_ms: medianOrNull(steps.map((p) => p.latency_ms?.mean)),
    error_rate: started > 0 ? r(errors / started, 4) : 0,
    latency_scv: medianOrNull(steps.map((p) => p.latency_scv)),
  }
}

export type Instance = {
  readonly workers: number
  /** The demands' workers: the base memory scales from it. */
  readonly measuredWorkers: number
  readonly memoryMb: number
  /** max_connections per provider per worker; default: the measured configuration. */
  readonly poolPerWorker?: Readonly<Record<string, number>>
}

/** Each resource's ceiling on the arrival rate for an instance. */
export function boundsFor(d: Demands, instance: Instance): Bound[] {
  const w = instance.workers
  const pools = instance.poolPerWorker ?? d.pool_limit_by_provider
  const out: Bound[] = []
  const perProvider = Object.entries(d.connections_per_rps)
    .filter(([name, k]) => k > 0 && (pools[name] ?? 0) > 0)
    .map(([name, k]) => ({ name, rate: (pools[name] * w) / k }))
    .sort((a, b) => a.rate - b.rate)
  const tight = perProvider[0]
  out.push({
    resource: 'connections',
    rate: tight ? r(tight.rate, 2) : null,
    detail: tight
      ? `${tight.name}: ${pools[tight.name] * w} connections (${pools[tight.name]} x ${w} worker${w > 1 ? 's' : ''}) / ${d.connections_per_rps[tight.name]} in use per req/s`
      : 'no upstream pool figures',
  })
  const cpuPer = d.cpu_percent_per_rps
  out.push({
    resource: 'cpu',
    rate: cpuPer ? r(Math.max(0, w * 100 - (d.cpu_idle_percent ?? 0)) / cpuPer, 2) : null,
    detail: cpuPer
      ? `${w} core${w > 1 ? 's' : ''} (one per worker): ${d.cpu_idle_percent ?? 0} % idle + ${cpuPer} % per req/s`
      : 'CPU per request not measured',
  })
  const perStream = d.rss_mb_per_stream
  const budget = instance.memoryMb * MEMORY_USABLE
  const base = (d.rss_base_mb ?? 0) * (w / instance.measuredWorkers)
  const streams = perStream && perStream > 0 ? (budget - base) / perStream : null
  out.push({
    resource: 'memory',
    rate: streams !== null && d.holding_s > 0 ? r(Math.max(0, streams) / d.holding_s, 2) : null,
    detail:
      streams !== null
        ? `${Math.round(budget)} MB usable (${MEMORY_USABLE * 100} % of ${instance.memoryMb}) - ${Math.round(base)} MB base, ${perStream} MB per stream: ${Math.round(streams)} streams`
        : 'RSS did not grow measurably with concurrent streams',
  })
  const fdStreams = d.fd_limit ? ((d.fd_limit - FD_RESERVE) / 2) * w : null
  out.push({
    resource: 'file_descriptors',
    rate: fdStreams !== null && d.holding_s > 0 ? r(fdStreams / d.holding_s, 2) : null,
    detail:
      fdStreams !== null
        ? `${d.fd_limit} open files per process, 2 per stream: ${Math.round(fdStreams)} streams`
        : 'limit unknown (--target)',
  })
  return out
}

/** The lowest ceiling: what binds first. */
export function bindingBound(bounds: readonly Bound[]): Bound | null {
  const finite = bounds.filter((b) => b.rate !== null)
  return finite.length ? finite.reduce((a, b) => ((b.rate as number) < (a.rate as number) ? b : a)) : null
}

/** Erlang C: probability an arrival waits with c servers and offered load a (Erlangs), a < c. */
export function erlangC(c: number, a: number): number {
  if (a <= 0) return 0
  if (a >= c) return 1
  let b = 1
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b)
  return (c * b) / (c - a * (1 - b))
}

export type Prediction = {
  readonly latency_mean_ms: number
  readonly latency_p95_ms: number | null
  readonly ttft_p95_ms: number | null
  readonly wait_p95_ms: number
}

/** Latencies at `rate` for an instance like the measured one; null at or past a ceiling. */
export function predictAt(
  d: Demands,
  rate: number,
  ceiling: number,
  arrivals: Arrivals,
  workers: number,
): Prediction | null {
  if (rate >= ceiling || d.latency_mean_ms === null) return null
  const total = Object.values(d.connections_per_rps).reduce((a, b) => a + b, 0)
  const queues = Object.entries(d.connections_per_rps).flatMap(([name, k]) => {
    const c = Math.round((d.pool_limit_by_provider[name] ?? 0) * workers)
    if (k <= 0 || c <= 0 || total <= 0) return []
    const share = k / total
    const load = rate * k
    if (load >= c) return [{ share, waits: 1, decay: 0 }]
    const ca2 = arrivals === 'poisson' ? 1 : 1 - share
    const f = Math.max(0.05, (ca2 + (d.latency_scv ?? 1)) / 2)
    return [{ share, waits: erlangC(c, load), decay: (c - load) / (total * 1000 * f) }]
  })
  if (queues.some((q) => q.decay === 0)) return null
  const tail = (t: number) => queues.reduce((s, q) => s + q.share * q.waits * Math.exp(-q.decay * t), 0)
  let p95 = 0
  if (tail(0) > 0.05) {
    let lo = 0
    let hi = 1
    while (tail(hi) > 0.05) hi *= 2
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2
      if (tail(mid) > 0.05) lo = mid
      else hi = mid
    }
    p95 = hi
  }
  const meanWait = queues.reduce((s, q) => s + (q.share * q.waits) / q.decay, 0)
  const add = (base: number | null, extra: number) => (base === null ? null : r(base + extra, 1))
  return {
    latency_mean_ms: r(d.latency_mean_ms + meanWait, 1),
    latency_p95_ms: add(d.latency_p95_ms, p95),
    ttft_p95_ms: add(d.ttft_p95_ms, p95),
    wait_p95_ms: r(p95, 1),
  }
}

/** The highest rate whose predicted figures meet the SLO, below the ceiling; null if even low load fails. */
export function predictKnee(
  d: Demands,
  slo: Slo,
  ceiling: number,
  arrivals: Arrivals,
  workers: number,
): number | null {
  const holds = (rate: number) => {
    const p = predictAt(d, rate, ceiling, arrivals, workers)
    if (!p) return false
    const ok = (value: number | null, limit: number | null) =>
      limit === null || (value !== null && value <= limit)
    return (
      ok(p.ttft_p95_ms, slo.ttft_p95_ms) &&
      ok(p.latency_p95_ms, slo.latency_p95_ms) &&
      ok(d.itl_p95_ms, slo.itl_p95_ms) &&
      d.error_rate <= slo.error_rate_max
    )
  }
  let lo = ceiling * 1e-3
  if (!holds(lo)) return null
  let hi = ceiling
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2
    if (holds(mid)) lo = mid
    else hi = mid
  }
  return r(lo, 2)
}
