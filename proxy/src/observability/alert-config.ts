import ms from 'ms'
import { z } from 'zod'
import { conditionProblem } from './alert-expr.ts'

// The `alerting` section of the config: rules (a condition, how long it must hold, severity,
// channels) and channels (slack, email, pagerduty, webhook). Secrets (webhook URLs, routing keys,
// SMTP passwords) may be given directly or, better, as the name of an environment variable
// (`*_env`), resolved once by the config loader. Every problem is reported with its path.

/** A duration: seconds as a number, or a string such as "30s", "5m", "1h". Parsed to seconds. */
export const duration = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value
  const parsed = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) * 1000 : ms(value as ms.StringValue)
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use seconds, or 30s, 5m, 1h)` })
    return z.NEVER
  }
  return parsed / 1000
})

const condition = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = conditionProblem(value)
    if (problem) ctx.addIssue({ code: 'custom', message: `invalid condition "${value}": ${problem}` })
  })

const AlertRule = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : - only'),
  condition,
  severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  /** Channel names; empty means every configured channel. */
  channels: z.array(z.string().min(1)).default([]),
  for: duration.default(0),
  repeat_interval: duration.optional(),
  description: z.string().optional(),
})

const httpUrl = z.url({ protocol: /^https?$/ })
const timeout = z.number().positive().default(5)

const Slack = z.strictObject({
  type: z.literal('slack'),
  webhook_url: httpUrl.optional(),
  webhook_url_env: z.string().min(1).optional(),
  channel: z.string().optional(),
  username: z.string().optional(),
  timeout,
})

const Email = z.strictObject({
  type: z.literal('email'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(587),
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: z.boolean().default(false),
  require_tls: z.boolean().default(false),
  username: z.string().optional(),
  password: z.string().optional(),
  password_env: z.string().min(1).optional(),
  from: z.string().min(3),
  to: z.array(z.string().min(3)).min(1),
  subject_prefix: z.string().default('[llm-proxy]'),
  timeout,
})

const PagerDuty = z.strictObject({
  type: z.literal('pagerduty'),
  routing_key: z.string().min(1).optional(),
  routing_key_env: z.string().min(1).optional(),
  url: httpUrl.default('https://events.pagerduty.com/v2/enqueue'),
  source: z.string().optional(),
  timeout,
})

const Webhook = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl.optional(),
  url_env: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).default({}),
  timeout,
})

/** Each secret is given once: directly or through an environment variable. */
const SECRETS = { slack: 'webhook_url', pagerduty: 'routing_key', webhook: 'url' } as const

const Channel = z.discriminatedUnion('type', [Slack, Email, PagerDuty, Webhook]).superRefine((c, ctx) => {
  if (c.type === 'email') {
    if (c.password !== undefined && c.password_env !== undefined)
      ctx.addIssue({ code: 'custom', message: 'give password or password_env, not both' })
    return
  }
  const key = SECRETS[c.type]
  const direct = (c as Record<string, unknown>)[key]
  const env = (c as Record<string, unknown>)[`${key}_env`]
  if ((direct === undefined) === (env === undefined))
    ctx.addIssue({ code: 'custom', message: `a ${c.type} channel needs ${key} or ${key}_env (one of them)` })
})

/** Defaults mirrored by proxy/ops/alerts.yml for Prometheus. */
export const DEFAULT_ALERT_RULES: z.infer<typeof AlertRule>[] = [
  { name: 'high_error_rate', condition: 'error_rate > 0.05', for: 120, severity: 'warning', channels: [] },
  {
    name: 'high_latency',
    condition: 'avg_response_time > 5000',
    for: 300,
    severity: 'critical',
    channels: [],
  },
  {
    name: 'memory_pressure',
    condition: 'memory_usage_percent > 85',
    for: 300,
    severity: 'warning',
    channels: [],
  },
  {
    name: 'circuit_breaker_open',
    condition: 'open_breakers > 0',
    for: 60,
    severity: 'warning',
    channels: [],
  },
]

export const AlertingSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    evaluation_interval: z.number().positive().default(15),
    /** Re-send a still-firing alert this often; absent means once per firing. */
    repeat_interval: duration.optional(),
    /** Names the proxy in notifications and PagerDuty's `source`; the host name by default. */
    instance: z.string().min(1).optional(),
    rules: z.array(AlertRule).default(() => structuredClone(DEFAULT_ALERT_RULES)),
    channels: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), Channel).default({}),
  })
  .superRefine((a, ctx) => {
    const seen = new Set<string>()
    a.rules.forEach((rule, i) => {
      if (seen.has(rule.name))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule "${rule.name}"` })
      seen.add(rule.name)
      rule.channels.forEach((name, j) => {
        if (!(name in a.channels)) {
          const known = Object.keys(a.channels)
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'channels', j],
            message: `no channel named "${name}" in alerting.channels (${known.length ? `known: ${known.join(', ')}` : 'none configured'})`,
          })
        }
      })
    })
  })
  .prefault({} as never)

export type AlertingConfig = z.infer<typeof AlertingSchema>
export type AlertRuleConfig = z.infer<typeof AlertRule>
export type ChannelConfig = z.infer<typeof Channel>

/** Reads the `*_env` secrets of the channels from the environment; returns resolved channels. */
export function resolveChannelSecrets(
  alerting: AlertingConfig,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): AlertingConfig {
  const channels: Record<string, ChannelConfig> = {}
  for (const [name, c] of Object.entries(alerting.channels)) {
    const out: Record<string, unknown> = { ...c }
    for (const key of ['webhook_url', 'routing_key', 'url', 'password']) {
      const variable = out[`${key}_env`]
      if (typeof variable !== 'string') continue
      const value = env[variable]
      // A disabled alerting section may name variables this machine does not set.
      if (value) out[key] = value
      else if (alerting.enabled)
        problems.push(`alerting.channels.${name}.${key}_env: environment variable ${variable} is not set`)
    }
    channels[name] = out as ChannelConfig
  }
  return { ...alerting, channels }
}
