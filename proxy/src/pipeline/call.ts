import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import type { CacheMode } from '../cache/policy.ts'
import type { Cancel } from '../cancel.ts'
import type { Clock } from '../clock.ts'
import type { RequestRecord } from '../http/accounting.ts'
import type { Route } from '../providers/registry.ts'
import type { ChatRequest } from '../providers/types.ts'
import type { ClientWire } from './client-wire.ts'

/** One client request in the pipeline, from the route that parsed it to the answer. */
export interface ProxyCall {
  readonly id: string
  readonly reply: FastifyReply
  readonly log: FastifyBaseLogger
  readonly record: RequestRecord
  /** The request in the client's API (body as parsed, bytes as received). */
  readonly req: ChatRequest
  readonly wire: ClientWire
  readonly route: Route
  /** The response cache's policy for it, and its key ('' when it bypasses the cache). */
  readonly mode: CacheMode
  readonly key: string
  /** When its answer must have started (monotonic ms, http_client.request_deadline). */
  readonly deadline: number
  /** Cancelled when the client leaves, or by the proxy itself (its reason says which). */
  readonly cancel: Cancel
  readonly clock: Clock
  readonly pingMs: number
}
