import pino, { type Logger } from 'pino'
import type { RequestOutcome } from './observer.ts'

const S = pino.symbols
export const REQUEST_COMPLETED = 'request completed'

/**
 * The one log line per request, serialized by hand: the bytes pino writes for `requestFields`
 * (log-observer.ts: its level, time and bindings first, the fields in order, undefined ones left out, then the
 * message), without building the object and walking it key by key on every request. Written
 * straight to the logger's destination, so it shares its buffering, flushing and ordering with
 * every other line. Undefined when the logger is not a plain one (a mixin, a log formatter or
 * hook, a nested key, a destination that wants metadata): pino then writes the line itself.
 */
export function requestLineWriter(
  logger: Logger,
  level: 'info' | 'debug',
): ((o: RequestOutcome) => void) | undefined {
  const l = logger as unknown as Record<symbol, unknown>
  const formatters = l[S.formattersSym] as { log?: unknown }
  const hooks = l[S.hooksSym] as { logMethod?: unknown; streamWrite?: unknown }
  const stream = l[S.streamSym] as { write(s: string): void; [key: symbol]: unknown }
  if (
    l[S.mixinSym] ||
    formatters?.log ||
    hooks?.logMethod ||
    hooks?.streamWrite ||
    l[S.nestedKeySym] ||
    l[(S as unknown as Record<string, symbol>).msgPrefixSym] ||
    l[S.messageKeySym] !== 'msg' ||
    touches(l[S.serializersSym]) ||
    touches(l[S.stringifiersSym]) ||
    stream?.[S.needsMetadataGsym] === true
  )
    return undefined
  const levelValue = logger.levels.values[level]
  const head = (l[S.lsCacheSym] as Record<number, string>)[levelValue]
  const time = l[S.timeSym] as () => string
  const end = `,"msg":${JSON.stringify(REQUEST_COMPLETED)}${l[S.endSym] as string}`
  return (o) => {
    // Bindings are read each time: a child logger's are fixed, but this one's may be changed.
    let s = `${head}${time()}${l[S.chindingsSym] as string},"reqId":${str(o.requestId)},"route":${str(o.route)},"model":${str(o.model)}`
    if (o.provider !== undefined) s += `,"provider":${str(o.provider)}`
    s += `,"status":${num(o.status)},"stream":${o.stream},"ms":${round(o.durationMs)},"upstream_ms":${round(o.upstreamMs)}`
    if (o.waitMs > 0) s += `,"wait_ms":${round(o.waitMs)}`
    if (o.ttftMs !== undefined) s += `,"ttft_ms":${round(o.ttftMs)}`
    s += `,"attempts":${num(o.attempts)},"cache":${str(o.cache)}`
    if (o.usage) s += `,"tokens":${num(o.usage.total_tokens)}`
    if (o.errorCode !== undefined) s += `,"error":${str(o.errorCode)}`
    if (o.truncated) s += ',"truncated":true'
    if (o.aborted) s += ',"aborted":true'
    stream.write(s + end)
  }
}

/** The line's keys, in the order they are written. */
const FIELDS = [
  'reqId',
  'route',
  'model',
  'provider',
  'status',
  'stream',
  'ms',
  'upstream_ms',
  'wait_ms',
  'ttft_ms',
  'attempts',
  'cache',
  'tokens',
  'error',
  'truncated',
  'aborted',
  'msg',
]

/** Serializers or stringifiers (redaction) that would change one of the line's values. */
function touches(table: unknown): boolean {
  const t = (table ?? {}) as Record<string | symbol, unknown>
  return FIELDS.some((k) => t[k] !== undefined) || Object.getOwnPropertySymbols(t).length > 0
}

/** Milliseconds to two decimals, as a JSON number. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100
}

function round(ms: number): string {
  return num(roundMs(ms))
}

/** A number as pino writes one: non-finite ones as null. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null'
}

function str(s: string): string {
  return JSON.stringify(s)
}
