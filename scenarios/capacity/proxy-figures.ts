// The proxy's own figures from its JSON /metrics, across workers. With node:cluster each answer
// describes the worker that took the scrape (system, memory, connection_pool), so the latest answer of
// every worker is kept and the instance's figures are their sum (connections, memory, CPU) or their
// worst (event-loop delay).
export type PoolFigures = {
  /** Sockets carrying a request. */
  readonly active: number
  /** Requests waiting for a socket. */
  readonly pending: number
  /** max_connections of the pool. */
  readonly limit: number
}

export type WorkerFigures = {
  readonly cpuPercent: number | null
  readonly loopUtilization: number | null
  /** The proxy's event-loop delay p99 (its last-minute window). */
  readonly loopDelayP99Ms: number | null
  readonly rssMb: number | null
  readonly pools: Readonly<Record<string, PoolFigures>>
}

export type InstanceFigures = WorkerFigures & {
  /** Workers heard from (their latest answer is recent enough). */
  readonly workersSeen: number
  /** Workers the proxy says it runs (process.workers; 1 without a cluster). */
  readonly workers: number
}

type Json = Record<string, unknown>

const num = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null
const obj = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {})

export function parseWorkerFigures(body: unknown): {
  workerId: number
  workers: number
  figures: WorkerFigures
} {
  const root = obj(body)
  const process = obj(root.process)
  const system = obj(root.system)
  const loop = obj(system.event_loop)
  const pools: Record<string, PoolFigures> = {}
  for (const [name, raw] of Object.entries(obj(root.connection_pool))) {
    const p = obj(raw)
    pools[name] = {
      active: num(p.active) ?? 0,
      pending: num(p.pending) ?? 0,
      limit: num(p.max_connections) ?? 0,
    }
  }
  return {
    workerId: num(process.worker_id) ?? 0,
    workers: Math.max(1, num(process.workers) ?? 1),
    figures: {
      cpuPercent: num(obj(system.cpu).percent),
      loopUtilization: num(loop.utilization),
      loopDelayP99Ms: num(obj(loop.delay).p99_ms),
      rssMb: num(obj(root.memory).rss_mb),
      pools,
    },
  }
}

/** Keeps each worker's latest figures; `instance()` adds them up. */
export class ProxyFigures {
  readonly #latest = new Map<number, { at: number; figures: WorkerFigures }>()
  #workers = 1

  update(body: unknown, at: number): void {
    const { workerId, workers, figures } = parseWorkerFigures(body)
    this.#workers = workers
    this.#latest.set(workerId, { at, figures })
  }

  /** The instance as of `at`: workers not heard from within maxAgeMs are left out. */
  instance(at: number, maxAgeMs = 5000): InstanceFigures | null {
    const fresh = [...this.#latest.values()].filter((w) => at - w.at <= maxAgeMs).map((w) => w.figures)
    if (fresh.length === 0) return null
    const sum = (pick: (f: WorkerFigures) => number | null) => {
      const values = fresh.map(pick).filter((v): v is number => v !== null)
      return values.length === 0 ? null : values.reduce((a, b) => a + b, 0)
    }
    const worst = (pick: (f: WorkerFigures) => number | null) => {
      const values = fresh.map(pick).filter((v): v is number => v !== null)
      return values.length === 0 ? null : Math.max(...values)
    }
    const pools: Record<string, PoolFigures> = {}
    for (const f of fresh) {
      for (const [name, p] of Object.entries(f.pools)) {
        const acc = pools[name] ?? { active: 0, pending: 0, limit: 0 }
        pools[name] = {
          active: acc.active + p.active,
          pending: acc.pending + p.pending,
          limit: acc.limit + p.limit,
        }
      }
    }
    // A worker not heard from still has its pool: scale the limit to every worker the proxy runs.
    const scale = this.#workers / fresh.length
    for (const [name, p] of Object.entries(pools)) pools[name] = { ...p, limit: Math.round(p.limit * scale) }
    return {
      workers: this.#workers,
      workersSeen: fresh.length,
      cpuPercent: sum((f) => f.cpuPercent),
      loopUtilization: worst((f) => f.loopUtilization),
      loopDelayP99Ms: worst((f) => f.loopDelayP99Ms),
      rssMb: sum((f) => f.rssMb),
      pools,
    }
  }
}
