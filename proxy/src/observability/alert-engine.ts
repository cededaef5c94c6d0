import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { Agent } from 'undici'
import type { DeepReadonly } from '../config/load.ts'
import { type Channel, createChannel, type Notification } from './alert-channels.ts'
import type { AlertingConfig, ChannelConfig } from './alert-config.ts'
import { type AlertMetrics, type Condition, evaluate, metricsOf, parseCondition } from './alert-expr.ts'
import type { Timers } from './memory-manager.ts'

// Evaluates the alert rules every alerting.evaluation_interval on the live metrics. A rule whose
// condition holds becomes pending, then firing once it has held for `for`; firing sends one
// notification to each of its channels (again every repeat_interval if one is set), and the
// first evaluation where it no longer holds sends one resolved notification. Nothing is sent
// twice for the same state, whatever the evaluation interval.

type RuleState = 'inactive' | 'pending' | 'firing'

interface Rule {
  readonly name: string
  readonly source: string
  readonly condition: Condition
  readonly forMs: number
  readonly repeatMs: number | undefined
  readonly severity: Notification['severity']
  readonly channels: readonly Channel[]
  readonly description: string | undefined
  state: RuleState
  since: number
  lastSent: number
  values: Record<string, number | null>
}

export interface DeliveryResult {
  readonly alert: string
  readonly channel: string
  readonly status: Notification['status']
  readonly ok: boolean
  readonly error?: string
}

export interface AlertEngineOptions {
  readonly config: DeepReadonly<AlertingConfig>
  readonly metrics: () => AlertMetrics | Promise<AlertMetrics>
  readonly now: () => number
  readonly logger: Logger
  readonly timers?: Timers
  /** Called after each delivery attempt (metrics count them). */
  readonly onDelivery?: (result: DeliveryResult) => void
}

const systemTimers: Timers = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
}

export class AlertEngine {
  readonly #o: AlertEngineOptions
  readonly #rules: Rule[]
  readonly #channels: Channel[]
  readonly #agent = new Agent({ connections: 4, keepAliveTimeout: 1000 })
  readonly #instance: string
  #timer: unknown
  #running: Promise<void> | undefined

  constructor(options: AlertEngineOptions) {
    this.#o = options
    const c = options.config
    this.#instance = c.instance ?? hostname()
    this.#channels = Object.entries(c.channels).map(([name, cc]) =>
      createChannel(name, cc as ChannelConfig, this.#agent),
    )
    const byName = new Map(this.#channels.map((ch) => [ch.name, ch]))
    this.#rules = c.rules.map((r) => ({
      name: r.name,
      source: r.condition,
      condition: parseCondition(r.condition),
      forMs: r.for * 1000,
      repeatMs:
        (r.repeat_interval ?? c.repeat_interval) === undefined
          ? undefined
          : (r.repeat_interval ?? c.repeat_interval)! * 1000,
      severity: r.severity,
      channels: r.channels.length ? r.channels.map((n) => byName.get(n)!) : this.#channels,
      description: r.description,
      state: 'inactive',
      since: 0,
      lastSent: 0,
      values: {},
    }))
  }

  start(): void {
    if (this.#timer !== undefined) return
    this.#timer = (this.#o.timers ?? systemTimers).setInterval(() => {
      // An evaluation still delivering is not overlapped by the next one.
      if (!this.#running) this.evaluate().catch(() => {})
    }, this.#o.config.evaluation_interval * 1000)
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) (this.#o.timers ?? systemTimers).clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
    await Promise.all(this.#channels.map((c) => c.close()))
    await this.#agent.close()
  }

  /** One evaluation of every rule; resolves when its notifications have been delivered (or failed). */
  evaluate(): Promise<void> {
    const run = this.#evaluate().finally(() => {
      if (this.#running === run) this.#running = undefined
    })
    this.#running = run
    return run
  }

  async #evaluate(): Promise<void> {
    let metrics: AlertMetrics
    try {
      metrics = await this.#o.metrics()
    } catch (err) {
      this.#o.logger.error({ err: (err as Error).message }, 'alert evaluation: metrics unavailable')
      return
    }
    const now = this.#o.now()
    const sends: Promise<void>[] = []
    for (const rule of this.#rules) {
      const holds = evaluate(rule.condition, metrics)
      rule.values = metricsOf(rule.condition, metrics)
      if (holds) {
        if (rule.state === 'inactive') {
          rule.state = 'pending'
          rule.since = now
        }
        if (rule.state === 'pending' && now - rule.since >= rule.forMs) {
          rule.state = 'firing'
          rule.lastSent = now
          sends.push(this.#notify(rule, 'firing', now))
        } else if (
          rule.state === 'firing' &&
          rule.repeatMs !== undefined &&
          now - rule.lastSent >= rule.repeatMs
        ) {
          rule.lastSent = now
          sends.push(this.#notify(rule, 'firing', now))
        }
      } else {
        if (rule.state === 'firing') sends.push(this.#notify(rule, 'resolved', now))
        rule.state = 'inactive'
      }
    }
    await Promise.all(sends)
  }

  async #notify(rule: Rule, status: Notification['status'], now: number): Promise<void> {
    const n: Notification = {
      alert: rule.name,
      status,
      severity: rule.severity,
      condition: rule.source,
      description: rule.description,
      values: rule.values,
      started_at: new Date(rule.since).toISOString(),
      ended_at: status === 'resolved' ? new Date(now).toISOString() : null,
      instance: this.#instance,
      dedup_key: `llm-proxy/${this.#instance}/${rule.name}`,
    }
    const log = status === 'firing' && rule.severity !== 'info' ? 'warn' : 'info'
    this.#o.logger[log](
      { alert: rule.name, status, severity: rule.severity, values: rule.values },
      `alert ${status}`,
    )
    await Promise.all(
      rule.channels.map(async (channel) => {
        try {
          await channel.send(n)
          this.#o.onDelivery?.({ alert: rule.name, channel: channel.name, status, ok: true })
        } catch (err) {
          const error = (err as Error).message
          this.#o.logger.error(
            { alert: rule.name, channel: channel.name, type: channel.type, error },
            'alert delivery failed',
          )
          this.#o.onDelivery?.({ alert: rule.name, channel: channel.name, status, ok: false, error })
        }
      }),
    )
  }

  /** Each rule's state, for /health/detailed and the alerts gauge. */
  states() {
    return this.#rules.map((r) => ({
      name: r.name,
      condition: r.source,
      severity: r.severity,
      state: r.state,
      since: r.state === 'inactive' ? null : new Date(r.since).toISOString(),
      values: r.values,
      channels: r.channels.map((c) => c.name),
    }))
  }
}
