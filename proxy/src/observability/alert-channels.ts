import { createRequire } from 'node:module'
import type { Transporter } from 'nodemailer'
import { type Agent, request } from 'undici'
import type { ChannelConfig } from './alert-config.ts'

// Where alert notifications go. Each channel turns a notification into its service's format:
// Slack incoming-webhook JSON, an email over SMTP, a PagerDuty Events API v2 event (trigger /
// resolve with a dedup key), or the notification itself as JSON for a generic webhook.
// Errors never carry the destination URL, routing key or password: they name the channel.

export interface Notification {
  readonly alert: string
  readonly status: 'firing' | 'resolved'
  readonly severity: 'info' | 'warning' | 'critical'
  readonly condition: string
  readonly description: string | undefined
  readonly values: Readonly<Record<string, number | null>>
  readonly started_at: string
  readonly ended_at: string | null
  readonly instance: string
  /** Stable per alert and instance: PagerDuty merges a trigger and its resolve by it. */
  readonly dedup_key: string
}

export interface Channel {
  readonly name: string
  readonly type: ChannelConfig['type']
  send(n: Notification): Promise<void>
  close(): Promise<void>
}

/** A delivery failure described without the channel's secrets. */
export class DeliveryError extends Error {}

export function summary(n: Notification): string {
  const values = Object.entries(n.values)
    .map(([k, v]) => `${k}=${v === null ? 'n/a' : Number(v.toFixed(4))}`)
    .join(', ')
  const verb = n.status === 'firing' ? 'FIRING' : 'RESOLVED'
  return `[${verb}] ${n.alert} (${n.severity}) on ${n.instance}: ${n.condition}${values ? ` (${values})` : ''}`
}

async function postJson(
  agent: Agent,
  channel: string,
  url: string,
  body: unknown,
  timeoutSeconds: number,
  headers: Record<string, string> = {},
): Promise<void> {
  let status: number
  try {
    const res = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      headersTimeout: timeoutSeconds * 1000,
      bodyTimeout: timeoutSeconds * 1000,
    })
    status = res.statusCode
    await res.body.dump()
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).name
    throw new DeliveryError(`channel ${channel}: request failed (${code})`)
  }
  if (status < 200 || status >= 300) throw new DeliveryError(`channel ${channel}: answered HTTP ${status}`)
}

const SLACK_COLORS = { firing: { info: '#439FE0', warning: 'warning', critical: 'danger' }, resolved: 'good' }

export function slackPayload(n: Notification, c: Extract<ChannelConfig, { type: 'slack' }>) {
  return {
    text: summary(n),
    ...(c.channel ? { channel: c.channel } : {}),
    ...(c.username ? { username: c.username } : {}),
    attachments: [
      {
        color: n.status === 'resolved' ? SLACK_COLORS.resolved : SLACK_COLORS.firing[n.severity],
        title: `${n.alert} ${n.status}`,
        text: n.description ?? n.condition,
        fields: [
          { title: 'severity', value: n.severity, short: true },
          { title: 'instance', value: n.instance, short: true },
          ...Object.entries(n.values).map(([k, v]) => ({ title: k, value: String(v), short: true })),
        ],
        ts: Math.floor(Date.parse(n.ended_at ?? n.started_at) / 1000),
      },
    ],
  }
}

export function pagerDutyEvent(n: Notification, routingKey: string, source: string | undefined) {
  if (n.status === 'resolved')
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: n.dedup_key }
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: n.dedup_key,
    payload: {
      summary: summary(n).slice(0, 1024),
      source: source ?? n.instance,
      severity: n.severity,
      timestamp: n.started_at,
      component: 'llm-proxy',
      class: n.alert,
      custom_details: { condition: n.condition, description: n.description, ...n.values },
    },
  }
}

export function createChannel(name: string, config: ChannelConfig, agent: Agent): Channel {
  const base = { name, type: config.type, close: async () => {} }
  switch (config.type) {
    case 'slack':
      return {
        ...base,
        send: (n) => postJson(agent, name, config.webhook_url!, slackPayload(n, config), config.timeout),
      }
    case 'pagerduty':
      return {
        ...base,
        send: (n) =>
          postJson(
            agent,
            name,
            config.url,
            pagerDutyEvent(n, config.routing_key!, config.source),
            config.timeout,
          ),
      }
    case 'webhook':
      return { ...base, send: (n) => postJson(agent, name, config.url!, n, config.timeout, config.headers) }
    case 'email':
      return emailChannel(name, config)
  }
}

function emailChannel(name: string, c: Extract<ChannelConfig, { type: 'email' }>): Channel {
  let transport: Transporter | undefined
  // Loaded with the first mail: nodemailer costs some 20 MB of RSS to a proxy that never sends one.
  const open = () =>
    (transport ??= (
      createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer')
    ).createTransport({
      host: c.host,
      port: c.port,
      secure: c.secure,
      requireTLS: c.require_tls,
      auth: c.username ? { user: c.username, pass: c.password ?? '' } : undefined,
      connectionTimeout: c.timeout * 1000,
      greetingTimeout: c.timeout * 1000,
      socketTimeout: c.timeout * 1000,
    }))
  return {
    name,
    type: 'email',
    async send(n) {
      try {
        await open().sendMail({
          from: c.from,
          to: c.to.join(', '),
          subject: `${c.subject_prefix} ${summary(n)}`.slice(0, 250),
          text: `${summary(n)}\n\n${n.description ?? ''}\n\n${JSON.stringify(n, null, 2)}\n`,
        })
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).name
        throw new DeliveryError(`channel ${name}: SMTP delivery failed (${code})`)
      }
    },
    async close() {
      transport?.close()
    },
  }
}
