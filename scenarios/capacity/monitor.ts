// Watches the resources of one load step once a second: the proxy's process tree (CPU, memory,
// sockets to clients and to the providers, file descriptors) and the mocks' and the generator's CPU
// from /proc when the run started them, the machine's CPU, and the proxy's own /metrics (pool use,
// event loop) whether it was started here or not. `window()` reduces the samples of the steady-state
// window to one row of the sweep.
import { availableParallelism } from 'node:os'
import { request } from 'undici'
import { connectionsOf, cpuSeconds, machineTicks, processTree, rssMb } from './proc.ts'
import { type InstanceFigures, ProxyFigures } from './proxy-figures.ts'

export type Processes = {
  readonly proxy: number
  readonly mock: number
  /** The proxy's listening port and the providers' ports: sockets are told apart by them. */
  readonly ports: { readonly listen: number; readonly upstream: readonly number[] }
}

export type MonitorOptions = {
  readonly targetUrl: string
  /** Absent with --target: only /metrics is read. */
  readonly processes?: Processes
  readonly intervalMs?: number
  readonly now?: () => number
}

type Sample = {
  readonly t: number
  readonly cpu: { proxy: number; mock: number; engine: number } | null
  readonly machine: { busy: number; total: number } | null
  readonly rssMb: number | null
  readonly sockets: { fds: number; clients: number; upstream: number } | null
  readonly proxy: InstanceFigures | null
}

export type ResourceWindow = {
  /** Cores, 100 = one core (proc: the whole tree; else the sum of the workers' own figures). */
  readonly proxy_cpu_percent: number | null
  readonly proxy_rss_mb: number | null
  readonly proxy_rss_max_mb: number | null
  readonly event_loop_utilization: number | null
  readonly event_loop_delay_p99_ms: number | null
  /** Requests holding a pool socket, summed over providers and workers (the proxy's figure). */
  readonly upstream_in_use: number | null
  readonly upstream_in_use_by_provider: Readonly<Record<string, number>>
  readonly upstream_pending: number | null
  /** Pool limit summed over providers and workers. */
  readonly upstream_limit: number | null
  readonly upstream_limit_by_provider: Readonly<Record<string, number>>
  /** Established sockets of the proxy tree to the providers and from clients (proc). */
  readonly upstream_sockets: number | null
  readonly client_sockets: number | null
  readonly open_fds_max: number | null
  readonly machine_busy_percent: number | null
  readonly mock_cpu_percent: number | null
  readonly generator_cpu_percent: number | null
  readonly workers: number | null
}

export type Monitor = {
  /** The engine's process, once spawned: its CPU is the generator's. */
  setEnginePid(pid: number): void
  /** ms since the monitor started: the clock `window()` takes. */
  elapsedMs(): number
  stop(): Promise<void>
  window(fromMs: number, toMs: number): ResourceWindow
}

const r1 = (value: number) => Math.round(value * 10) / 10
const mean = (values: readonly number[]) =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length
const round = (value: number | null, digits = 1) =>
  value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits

export function startMonitor(options: MonitorOptions): Monitor {
  const now = options.now ?? (() => performance.now())
  const t0 = now()
  const samples: Sample[] = []
  const figures = new ProxyFigures()
  let enginePid: number | null = null
  let stopped = false
  const procs = options.processes

  const readProc = () => {
    if (!procs) return { cpu: null, rss: null, sockets: null }
    const tree = processTree(procs.proxy)
    return {
      cpu: {
        proxy: cpuSeconds(tree),
        mock: cpuSeconds(processTree(procs.mock)),
        engine: enginePid === null ? 0 : cpuSeconds([enginePid]),
      },
      rss: tree.length > 0 ? rssMb(tree) : null,
      sockets: tree.length > 0 ? connectionsOf(tree, procs.ports) : null,
    }
  }

  const sampleOnce = async () => {
    try {
      // A fresh connection each time: a cluster hands connections to its workers in turn, and each
      // worker answers /metrics with its own pools, memory and event loop (proxy-figures.ts adds them).
      const res = await request(`${options.targetUrl}/metrics`, {
        headersTimeout: 2000,
        bodyTimeout: 2000,
        reset: true,
      })
      if (res.statusCode === 200) figures.update(await res.body.json(), now() - t0)
      else await res.body.dump()
    } catch {
      // a missed scrape is a gap, not a failure
    }
    const t = now() - t0
    const proc = readProc()
    samples.push({
      t,
      cpu: proc.cpu,
      machine: procs ? machineTicks() : null,
      rssMb: proc.rss,
      sockets: proc.sockets,
      proxy: figures.instance(t),
    })
  }

  const loop = (async () => {
    while (!stopped) {
      const started = now()
      await sampleOnce()
      const wait = (options.intervalMs ?? 1000) - (now() - started)
      if (wait > 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  })()

  return {
    setEnginePid(pid) {
      enginePid = pid
    },
    elapsedMs: () => now() - t0,
    async stop() {
      stopped = true
      await loop
    },
    window(fromMs, toMs) {
      return reduceWindow(samples.filter((s) => s.t >= fromMs && s.t <= toMs))
    },
  }
}

function reduceWindow(samples: readonly Sample[]): ResourceWindow {
  const first = samples[0]
  const last = samples[samples.length - 1]
  const spanS = first && last ? (last.t - first.t) / 1000 : 0
  const rate = (pick: (c: NonNullable<Sample['cpu']>) => number) =>
    first?.cpu && last?.cpu && spanS > 0 ? r1(((pick(last.cpu) - pick(first.cpu)) / spanS) * 100) : null
  const proxies = samples.flatMap((s) => (s.proxy ? [s.proxy] : []))
  const values = (fn: (p: InstanceFigures) => number | null) =>
    proxies.map(fn).filter((v): v is number => v !== null)
  const providers = [...new Set(proxies.flatMap((p) => Object.keys(p.pools)))]
  const byProvider = (field: 'active' | 'limit') =>
    Object.fromEntries(
      providers.map((n) => [n, round(mean(values((p) => p.pools[n]?.[field] ?? null))) ?? 0]),
    )
  const total = (field: 'active' | 'pending' | 'limit') =>
    providers.length === 0
      ? null
      : round(mean(values((p) => providers.reduce((sum, n) => sum + (p.pools[n]?.[field] ?? 0), 0))))
  const rss = samples.map((s) => s.rssMb).filter((v): v is number => v !== null)
  const reportedRss = values((p) => p.rssMb)
  const sockets = samples.flatMap((s) => (s.sockets ? [s.sockets] : []))
  const delays = values((p) => p.loopDelayP99Ms)
  return {
    proxy_cpu_percent: rate((c) => c.proxy) ?? round(mean(values((p) => p.cpuPercent))),
    proxy_rss_mb: round(mean(rss.length ? rss : reportedRss)),
    proxy_rss_max_mb: round(maxOf(rss.length ? rss : reportedRss)),
    event_loop_utilization: round(mean(values((p) => p.loopUtilization)), 3),
    event_loop_delay_p99_ms: round(maxOf(delays), 2),
    upstream_in_use: total('active'),
    upstream_in_use_by_provider: byProvider('active'),
    upstream_pending: total('pending'),
    upstream_limit: total('limit'),
    upstream_limit_by_provider: byProvider('limit'),
    upstream_sockets: round(mean(sockets.map((s) => s.upstream))),
    client_sockets: round(mean(sockets.map((s) => s.clients))),
    open_fds_max: maxOf(sockets.map((s) => s.fds)),
    machine_busy_percent: machineBusy(first?.machine ?? null, last?.machine ?? null),
    mock_cpu_percent: rate((c) => c.mock),
    generator_cpu_percent: rate((c) => c.engine),
    workers: proxies.length ? proxies[proxies.length - 1].workers : null,
  }
}

function maxOf(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY)
}

/** The machine's busy time between two readings, in cores (100 = one core) like every CPU figure here. */
function machineBusy(a: Sample['machine'], b: Sample['machine']): number | null {
  if (!a || !b || b.total <= a.total) return null
  return r1(((b.busy - a.busy) / (b.total - a.total)) * availableParallelism() * 100)
}
