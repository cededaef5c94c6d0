import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import { Counter, Gauge, Registry } from 'prom-client'
import type { Config } from '../config/load.ts'
import { AlertEngine } from '../observability/alert-engine.ts'
import type { AlertMetrics } from '../observability/alert-expr.ts'
import { alertMetrics, registerAlertMetrics } from '../observability/alert-metrics.ts'
import { statsSections } from '../observability/request-stats.ts'
import type { ClusterReports, WorkerReport } from '../observability/telemetry.ts'
import { isMessage, type ToPrimary, type ToWorker } from './ipc.ts'

// The node:cluster primary: forks server.workers workers sharing the port, replaces a worker
// that reached max_requests (the replacement listens before the old one is told to drain, so
// capacity never drops), restarts crashed workers with a backoff, gathers every worker's figures
// for /metrics and for the alert rules (evaluated here, once for the cluster), and on SIGTERM
// drains every worker within server.shutdown_timeout.

const REPORT_TIMEOUT_MS = 2000
const LISTEN_TIMEOUT_MS = 30_000

export class Primary {
  readonly #config: Config
  readonly #logger: Logger
  readonly #registry = new Registry()
  readonly #recycling = new Set<number>()
  readonly #live = new Map<number, Worker>()
  readonly #pendingReports = new Map<number, { reports: WorkerReport[]; left: number; done: () => void }>()
  readonly #recycles: Counter
  readonly #restarts: Counter
  #alerts: AlertEngine | undefined
  #nextReport = 0
  #stopping = false
  #crashBackoffMs = 500

  constructor(config: Config, logger: Logger) {
    this.#config = config
    this.#logger = logger
    const registers = [this.#registry]
    this.#recycles = new Counter({
      name: 'llm_proxy_worker_recycles_total',
      help: 'Workers replaced after reaching server.max_requests.',
      registers,
    })
    this.#restarts = new Counter({
      name: 'llm_proxy_worker_restarts_total',
      help: 'Workers restarted after exiting unexpectedly.',
      registers,
    })
    const live = this.#live
    new Gauge({
      name: 'llm_proxy_workers',
      help: 'Live worker processes.',
      registers,
      collect() {
        this.set(live.size)
      },
    })
    const onDelivery = registerAlertMetrics(this.#registry, () => this.#alerts)
    if (config.alerting.enabled) {
      this.#alerts = new AlertEngine({
        config: config.alerting,
        metrics: () => this.#alertMetrics(),
        now: Date.now,
        logger,
        onDelivery,
      })
    }
  }

  start(): void {
    cluster.on('message', (worker, message) => this.#onMessage(worker, message))
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal))
    for (let i = 0; i < this.#config.server.workers; i++) this.#fork()
    this.#alerts?.start()
    process.once('SIGTERM', () => this.stop('SIGTERM'))
    process.once('SIGINT', () => this.stop('SIGINT'))
  }

  #fork(): Worker {
    const worker = cluster.fork()
    this.#live.set(worker.id, worker)
    worker.once('listening', (address) => {
      this.#crashBackoffMs = 500
      this.#logger.info(
        {
          worker: worker.id,
          worker_pid: worker.process.pid,
          address: `http://${address.address}:${address.port}`,
        },
        'worker listening',
      )
    })
    return worker
  }

  #onMessage(worker: Worker, message: unknown): void {
    if (!isMessage<ToPrimary>(message)) return
    if (message.type === 'llmproxy:recycle') this.#recycle(worker, message.served)
    else if (message.type === 'llmproxy:collect') {
      this.collect().then(
        (reports) => this.#send(worker, { type: 'llmproxy:collected', id: message.id, reports }),
        () => this.#send(worker, { type: 'llmproxy:collected', id: message.id, reports: null }),
      )
    } else if (message.type === 'llmproxy:report') {
      const pending = this.#pendingReports.get(message.id)
      if (!pending) return
      pending.reports.push(message.report)
      if (--pending.left === 0) pending.done()
    }
  }

  #send(worker: Worker, message: ToWorker): void {
    if (worker.isConnected()) worker.send(message)
  }

  /** Replacement first: the old worker drains only once the new one accepts connections. */
  #recycle(old: Worker, served: number): void {
    if (this.#stopping || this.#recycling.has(old.id)) return
    this.#recycling.add(old.id)
    const fresh = this.#fork()
    let timer: NodeJS.Timeout | undefined
    const giveUp = (why: string) => {
      clearTimeout(timer)
      fresh.off('listening', ready)
      this.#logger.error({ worker: old.id, why }, 'replacement worker failed; keeping the old one')
      this.#recycling.delete(old.id)
      if (fresh.isConnected()) fresh.kill()
    }
    const failed = () => giveUp('exited before listening')
    const ready = () => {
      clearTimeout(timer)
      fresh.off('exit', failed)
      this.#recycles.inc()
      this.#logger.info(
        {
          old_worker: old.id,
          old_pid: old.process.pid,
          new_worker: fresh.id,
          new_pid: fresh.process.pid,
          served,
        },
        'worker recycled',
      )
      this.#send(old, { type: 'llmproxy:drain', reason: 'max_requests' })
    }
    timer = setTimeout(() => giveUp('did not listen in time'), LISTEN_TIMEOUT_MS)
    fresh.once('listening', ready)
    fresh.once('exit', failed)
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.#live.delete(worker.id)
    const recycled = this.#recycling.delete(worker.id)
    if (this.#stopping) {
      if (this.#live.size === 0) this.#finish()
      return
    }
    if (recycled && code === 0) return
    this.#restarts.inc()
    this.#logger.error(
      { worker: worker.id, code, signal, restart_in_ms: this.#crashBackoffMs },
      'worker exited; restarting',
    )
    setTimeout(() => this.#stopping || this.#fork(), this.#crashBackoffMs).unref()
    this.#crashBackoffMs = Math.min(this.#crashBackoffMs * 2, 30_000)
  }

  /** Every live worker's report, and the primary's own metrics. */
  async collect(): Promise<ClusterReports> {
    const workers = [...this.#live.values()].filter((w) => w.isConnected())
    const id = this.#nextReport++
    const reports: WorkerReport[] = []
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, REPORT_TIMEOUT_MS)
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      if (workers.length === 0) return done()
      this.#pendingReports.set(id, { reports, left: workers.length, done })
      for (const w of workers) this.#send(w, { type: 'llmproxy:report', id })
    })
    this.#pendingReports.delete(id)
    reports.sort((a, b) => (a.worker_id ?? 0) - (b.worker_id ?? 0))
    return { workers: reports, primary: await this.#registry.getMetricsAsJSON() }
  }

  async #alertMetrics(): Promise<AlertMetrics> {
    const { workers } = await this.collect()
    const stats = workers.flatMap((w) => (w.stats ? [w.stats] : []))
    const rates = workers.map((w) => w.summary.cache_hit_rate).filter((r): r is number => r !== null)
    return alertMetrics(statsSections(stats), {
      memoryUsagePercent: workers.length
        ? Math.max(...workers.map((w) => w.summary.memory_usage_percent))
        : null,
      openBreakers: workers.length ? Math.max(...workers.map((w) => w.summary.open_breakers)) : 0,
      cacheHitRate: rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : null,
    })
  }

  stop(signal: string): void {
    if (this.#stopping) return
    this.#stopping = true
    this.#logger.info({ signal }, 'draining workers')
    for (const w of this.#live.values()) this.#send(w, { type: 'llmproxy:drain', reason: signal })
    // Workers cut their own connections at shutdown_timeout; this is the backstop.
    setTimeout(
      () => {
        this.#logger.warn('workers still running after shutdown_timeout; killing them')
        for (const w of this.#live.values()) w.process.kill('SIGKILL')
        this.#finish(1)
      },
      (this.#config.server.shutdown_timeout + 5) * 1000,
    ).unref()
    if (this.#live.size === 0) this.#finish()
  }

  #finish(code = 0): void {
    const alerts = this.#alerts
    this.#alerts = undefined
    Promise.resolve(alerts?.stop()).finally(() => process.exit(code))
  }
}
