// Reads what the proxy says about itself while the faults run (GET /metrics, /health,
// /health/providers), what the mocks saw (GET /__mock/stats) and what the kernel says about the
// proxy's processes (/proc), once per interval. The assertions compare these with what the clients saw.

import { treeMemory } from '../run/procfs.ts'
import { parseMetrics } from '../run/proxy-metrics.ts'
import { requestJson } from './http-json.ts'
import type { Provider } from './schema.ts'
import type { ChaosStack } from './stack.ts'

type BreakerState = 'closed' | 'open' | 'half_open'

export type Counters = { requests: number; successes: number; failures: number; client_errors: number }

export type MetricsSample = {
  readonly t: number
  readonly breakers?: Record<string, BreakerState>
  /** Client requests (/metrics `requests`), since start. */
  readonly counters?: Counters
  /** The proxy's calls to providers, every attempt (/metrics `http_client`), since start. */
  readonly upstream?: Counters
}

export type HealthEndpoint = '/health' | '/health/providers'

/** One poll of a health endpoint: the HTTP status (0: no answer) and the parsed body. */
export type HealthSample = {
  readonly t: number
  readonly endpoint: HealthEndpoint
  readonly http: number
  readonly body: unknown
}

/** Resident memory of the live proxy instances (MB, the largest), and the live worker PIDs of instance 0. */
export type ProcSample = { readonly t: number; readonly rssMb: number; readonly workers: readonly number[] }

/** Requests each mock has received since start (its own counter). */
export type MockSample = { readonly t: number; readonly provider: Provider; readonly total: number }

export type Observations = {
  metrics: MetricsSample[]
  health: HealthSample[]
  proc: ProcSample[]
  mocks: MockSample[]
}

export type Observer = { readonly data: Observations; stop(): Promise<Observations> }

export function startObserver(options: {
  stack: ChaosStack
  now: () => number
  intervalMs?: number
}): Observer {
  const { stack, now } = options
  const data: Observations = { metrics: [], health: [], proc: [], mocks: [] }
  const t = () => Math.round(now()) / 1000
  let busy: Promise<unknown> | null = null

  // A poll that gets no answer within the interval is recorded as such (http 0).
  const getJson = async (url: string): Promise<{ http: number; body: unknown }> => {
    try {
      const { status, body } = await requestJson(url, { timeoutMs: 900 })
      return { http: status, body: typeof body === 'string' ? null : body }
    } catch {
      return { http: 0, body: null }
    }
  }

  const pollMetrics = async () => {
    const at = t()
    const { http, body } = await getJson(`${stack.targetUrl}/metrics`)
    if (http !== 200 || !body) return
    const parsed = parseMetrics(body, at)
    const { requests, http_client } = body as {
      requests?: Partial<Counters>
      http_client?: Partial<Counters>
    }
    data.metrics.push({
      t: at,
      ...(parsed.breakers ? { breakers: parsed.breakers } : {}),
      ...(typeof requests?.requests === 'number' ? { counters: counters(requests) } : {}),
      ...(typeof http_client?.requests === 'number' ? { upstream: counters(http_client) } : {}),
    })
  }
  const pollHealth = async (endpoint: HealthEndpoint) => {
    const at = t()
    const { http, body } = await getJson(`${stack.targetUrl}${endpoint}`)
    data.health.push({ t: at, endpoint, http, body })
  }
  const pollMock = async (provider: Provider) => {
    const at = t()
    const { http, body } = await getJson(`${stack.mocks[provider]}/__mock/stats`)
    const total = (body as { requests?: { total?: unknown } } | null)?.requests?.total
    if (http === 200 && typeof total === 'number') data.mocks.push({ t: at, provider, total })
  }
  const pollProc = () => {
    let rss = 0
    let workers: number[] = []
    for (const instance of stack.instances) {
      const tree = treeMemory(instance.process.pid)
      if (!tree) continue
      rss = Math.max(rss, tree.rssMb)
      if (instance.slot === 0) workers = tree.children
    }
    if (rss > 0) data.proc.push({ t: t(), rssMb: rss, workers })
  }

  const tick = () => {
    if (busy) return
    pollProc()
    busy = Promise.all([
      pollMetrics(),
      pollHealth('/health'),
      pollHealth('/health/providers'),
      ...(Object.keys(stack.mocks) as Provider[]).map(pollMock),
    ]).finally(() => {
      busy = null
    })
  }
  tick()
  const timer = setInterval(tick, options.intervalMs ?? 1000)
  return {
    data,
    async stop() {
      clearInterval(timer)
      await busy
      for (const list of [data.metrics, data.health, data.mocks]) list.sort((a, b) => a.t - b.t)
      return data
    },
  }
}

function counters(r: Partial<Counters>): Counters {
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
  return {
    requests: n(r.requests),
    successes: n(r.successes),
    failures: n(r.failures),
    client_errors: n(r.client_errors),
  }
}
