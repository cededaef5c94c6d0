import type { CachedAnswer } from '../cache/answer.ts'
import type { FlightOpening } from '../cache/flights.ts'
import type { Clock } from '../clock.ts'
import { serverTiming } from '../http/timing.ts'

/**
 * Headers of an answer once its upstream call started: who answered, how, and what it cost;
 * added to `headers` (a new object by default), which is returned.
 */
export function openingHeaders(
  at: { readonly record: { readonly started: number }; readonly clock: Clock },
  o: FlightOpening,
  coalesced: boolean,
  headers: Record<string, string> = {},
): Record<string, string> {
  headers['x-proxy-provider'] = o.provider
  headers['x-proxy-attempts'] = String(o.attempts)
  headers['server-timing'] = serverTiming(at.clock.monotonic() - at.record.started, o.upstreamMs, o.waitMs)
  if (coalesced) headers['x-cache-coalesced'] = 'true'
  if (o.condensed) Object.assign(headers, condensedHeaders(o.condensed))
  return headers
}

export function condensedHeaders(c: { before: number; after: number }): Record<string, string> {
  return {
    'x-context-condensed': 'true',
    'x-context-tokens-before': String(c.before),
    'x-context-tokens-after': String(c.after),
  }
}

/** Headers of an answer from the cache: its age, and no upstream time. */
export function hitHeaders(hit: CachedAnswer, durationMs: number, now: number): Record<string, string> {
  const headers: Record<string, string> = {
    'x-cache': 'HIT',
    age: String(Math.max(0, Math.floor((now - hit.storedAt) / 1000))),
    'server-timing': serverTiming(durationMs, 0, 0),
  }
  if (hit.condensed) Object.assign(headers, condensedHeaders(hit.condensed))
  return headers
}
