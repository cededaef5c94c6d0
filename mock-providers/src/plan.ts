import type { FaultType, RouteName } from './profile-schema.ts'

/** What happens after the last chunk: a normal end, or a fault's way of leaving the client. */
export type Terminal = 'end' | 'hang' | 'reset' | 'cut' | 'stall'

/** stall: what is sent, and how often, once the chunks are out; never an end. */
export interface KeepAlive {
  /** An SSE comment or ping for a stream, a space (JSON's leading whitespace) for a plain answer. */
  bytes: string
  intervalMs: number
}

/** Everything an adapter needs to answer one request; built by the core, executed by an adapter. */
export interface ResponsePlan {
  /** null for a path the wire does not serve. */
  route: RouteName | null
  status: number
  headers: Readonly<Record<string, string>>
  /** Wait before the status line: generation time of a non-streaming answer, or a slow_headers fault. */
  headersDelayMs: number
  /** false: the status line is never written (hang, or a reset before the response). */
  sendHead: boolean
  /** Stream: one SSE event each. Otherwise the body in parts, sent as one body (parts may repeat across plans). */
  chunks: string[]
  /** Wait in ms before each chunk, same length as chunks; null when every wait is zero. */
  delays: number[] | null
  /** cut: the socket is closed after the chunks, without the stream's terminator. */
  terminal: Terminal
  /** Set for the stall terminal only. */
  keepAlive: KeepAlive | null
  fault: FaultType | 'context_length_exceeded' | null
  stream: boolean
  /** Held against the profile's concurrency limit while it runs. */
  limited: boolean
  promptTokens: number
  completionTokens: number
}

export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
})

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
})

/** Total of the waits of a plan, status line included (what a client waits at least). */
export function planDurationMs(plan: ResponsePlan): number {
  let total = plan.headersDelayMs
  if (plan.delays !== null) for (const d of plan.delays) total += d
  return total
}
