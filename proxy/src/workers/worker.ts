import cluster from 'node:cluster'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Random } from '../clock.ts'
import type { Config } from '../config/load.ts'
import type { ClusterLink, ClusterReports } from '../observability/telemetry.ts'
import { type Drainer, prepareDrain } from './drain.ts'
import { isMessage, type ToPrimary, type ToWorker } from './ipc.ts'

// A node:cluster worker: serves like a single process, counts the requests it takes and asks
// the primary to replace it once it reaches server.max_requests (plus a random share of
// max_requests_jitter, so workers started together do not all recycle together), drains when
// told to (or on SIGTERM), and answers the primary's requests for its figures.

const COLLECT_TIMEOUT_MS = 3000

function send(message: ToPrimary): void {
  process.send?.(message)
}

/** The worker's side of the cluster: metrics requests go through the primary. */
export class WorkerLink implements ClusterLink {
  readonly workerId: number
  readonly workers: number
  readonly #pending = new Map<number, (reports: ClusterReports | null) => void>()
  #next = 0

  constructor(workers: number) {
    this.workerId = cluster.worker?.id ?? 0
    this.workers = workers
    process.on('message', (message: unknown) => {
      if (!isMessage<ToWorker>(message) || message.type !== 'llmproxy:collected') return
      this.#pending.get(message.id)?.(message.reports)
      this.#pending.delete(message.id)
    })
  }

  collect(): Promise<ClusterReports> {
    const id = this.#next++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error('the primary did not answer in time'))
      }, COLLECT_TIMEOUT_MS)
      this.#pending.set(id, (reports) => {
        clearTimeout(timer)
        if (reports) resolve(reports)
        else reject(new Error('the primary could not collect the workers figures'))
      })
      send({ type: 'llmproxy:collect', id })
    })
  }
}

/** The request budget of this worker: max_requests plus up to max_requests_jitter. */
export function requestBudget(config: Config, random: Random): number {
  const { max_requests, max_requests_jitter } = config.server
  if (max_requests <= 0) return Number.POSITIVE_INFINITY
  return max_requests + Math.floor(random() * (max_requests_jitter + 1))
}

export function superviseWorker(
  app: FastifyInstance,
  config: Config,
  logger: Logger,
  random: Random,
): Drainer {
  const drainer = prepareDrain(app, () => {
    app.telemetry.shuttingDown = true
  })
  const budget = requestBudget(config, random)
  let served = 0
  let asked = false
  app.server.on('request', () => {
    served++
    if (served >= budget && !asked) {
      asked = true
      logger.info({ served, budget }, 'max_requests reached, asking for a replacement')
      send({ type: 'llmproxy:recycle', served })
    }
  })
  const stop = (reason: string) => {
    logger.info({ reason, served }, 'worker draining')
    drainer
      .drain({
        timeoutMs: config.server.shutdown_timeout * 1000,
        logger,
        recycling: reason === 'max_requests',
      })
      .then((clean) => process.exit(clean ? 0 : 1))
  }
  process.on('message', (message: unknown) => {
    if (!isMessage<ToWorker>(message)) return
    if (message.type === 'llmproxy:drain') stop(message.reason)
    else if (message.type === 'llmproxy:report') {
      app.telemetry.report().then(
        (report) => send({ type: 'llmproxy:report', id: message.id, report }),
        (err) => logger.error({ err }, 'worker report failed'),
      )
    }
  })
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
  return drainer
}
