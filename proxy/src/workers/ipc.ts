import type { ClusterReports, WorkerReport } from '../observability/telemetry.ts'

// Messages between the primary and its workers (node:cluster IPC). Prefixed so they never clash
// with other users of the channel.

export type ToPrimary =
  /** The worker reached its max_requests: start a replacement, then tell it to drain. */
  | { type: 'llmproxy:recycle'; served: number }
  /** A worker answering /metrics wants every worker's figures. */
  | { type: 'llmproxy:collect'; id: number }
  /** A worker's answer to `report`. */
  | { type: 'llmproxy:report'; id: number; report: WorkerReport }

export type ToWorker =
  | { type: 'llmproxy:drain'; reason: string }
  | { type: 'llmproxy:report'; id: number }
  | { type: 'llmproxy:collected'; id: number; reports: ClusterReports | null }

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type.startsWith('llmproxy:')
  )
}
