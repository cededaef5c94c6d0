import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

const SAFE_ID = /^[\w.:-]{1,128}$/

/**
 * Request ids: the client's `x-request-id` when it is safe to echo and log, otherwise a random
 * per-process prefix and a counter. Unique across processes and restarts without a UUID per
 * request (crypto.randomUUID showed up at about a microsecond a request).
 */
export function createRequestIds(prefix = randomBytes(6).toString('hex')): (req: IncomingMessage) => string {
  let counter = 0
  return (req) => {
    const incoming = req.headers['x-request-id']
    if (typeof incoming === 'string' && SAFE_ID.test(incoming)) return incoming
    counter++
    return `${prefix}-${counter.toString(36)}`
  }
}
