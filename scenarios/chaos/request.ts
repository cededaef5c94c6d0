// One request of a chaos run, kept whole: when it was meant to start and when it ended, the status,
// the error code of an error body, Retry-After, and for a stream how it ended. The tier engines fold
// requests into aggregates as they go; a chaos run judges each phase afterwards, so it keeps them all.
import type { Dispatcher } from 'undici'
import { answerFailure } from '../engines/answer.ts'
import { contentTypeOf, errorKind } from '../engines/http-call.ts'
import { SseMeter } from '../engines/sse.ts'
import type { RequestSpec, ScenarioName } from '../scenario.ts'

export type RequestRecord = {
  readonly scenario: ScenarioName
  readonly stream: boolean
  /** Intended send time, ms since the run started: latency counts from here. */
  readonly startMs: number
  readonly endMs: number
  /** 0 when no status line arrived. */
  readonly status: number
  /** `error.code` of an error answer or of a stream's error event. */
  readonly code: string | null
  /** Retry-After of the answer, in seconds. */
  readonly retryAfterS: number | null
  readonly ok: boolean
  /** Why it failed: http_<status>, timeout, reset, truncated_stream, stream_error, malformed_chunk, ... */
  readonly kind: string | null
  /** A stream that ended without `[DONE]` and without an error event: the client cannot tell. */
  readonly silentCut: boolean
  /** A chunk that was not JSON reached the client. */
  readonly malformed: boolean
  readonly ttftMs: number | null
}

export type CallDeps = {
  readonly dispatcher: Dispatcher
  readonly pathPrefix: string
  readonly now: () => number
  /** The run's stop signal. */
  readonly signal: AbortSignal
  readonly timeoutMs: number
}

const ERROR_BODY_LIMIT = 1 << 16

export async function callOnce(deps: CallDeps, spec: RequestSpec, startMs: number): Promise<RequestRecord> {
  const deadline = AbortSignal.timeout(Math.max(1, Math.ceil(deps.timeoutMs - (deps.now() - startMs))))
  const signal = AbortSignal.any([deps.signal, deadline])
  let status = 0
  let retryAfterS: number | null = null
  let meter: SseMeter | null = null
  const record = (fields: Partial<RequestRecord> & Pick<RequestRecord, 'ok' | 'kind'>): RequestRecord => ({
    scenario: spec.scenario,
    stream: spec.stream,
    startMs,
    endMs: deps.now(),
    status,
    code: null,
    retryAfterS,
    silentCut: false,
    malformed: false,
    ttftMs: null,
    ...fields,
  })
  try {
    const response = await deps.dispatcher.request({
      method: spec.method,
      path: deps.pathPrefix + spec.path,
      headers: spec.headers,
      body: spec.body,
      signal,
    })
    status = response.statusCode
    retryAfterS = parseRetryAfter(response.headers['retry-after'])
    if (status < 200 || status >= 300) {
      const text = await readText(response.body, ERROR_BODY_LIMIT)
      return record({ ok: false, kind: `http_${status}`, code: errorCode(text) })
    }
    if (!spec.stream) {
      const text = await readText(response.body, Number.POSITIVE_INFINITY)
      const failure = answerFailure(status, contentTypeOf(response.headers), text)
      return record({ ok: failure === null, kind: failure && 'unreadable_body', code: errorCode(text) })
    }
    meter = new SseMeter(startMs, deps.now)
    for await (const chunk of response.body) meter.push(chunk as Uint8Array)
    return streamRecord(record, meter, null)
  } catch (error) {
    const kind = deadline.aborted && !deps.signal.aborted ? 'timeout' : errorKind(error, deps.signal)
    if (meter) return streamRecord(record, meter, kind)
    return record({ ok: false, kind })
  }
}

function streamRecord(
  record: (fields: Partial<RequestRecord> & Pick<RequestRecord, 'ok' | 'kind'>) => RequestRecord,
  meter: SseMeter,
  transportError: string | null,
): RequestRecord {
  const v = meter.finish()
  const ttftMs = Number.isNaN(v.ttftMs) ? null : v.ttftMs
  // An error event is a proper end, whatever happened to the socket after it. A stream the client
  // gave up on (its deadline, the end of the run) did not end: no_hang judges it, not this flag.
  const gaveUp = transportError === 'timeout' || transportError === 'interrupted'
  const silentCut = !v.errorEvent && !gaveUp && (transportError !== null || v.kind === 'truncated_stream')
  const kind = v.errorEvent ? 'stream_error' : (transportError ?? v.kind)
  return record({ ok: kind === null, kind, silentCut, malformed: v.malformed, ttftMs })
}

async function readText(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of body) {
    if (text.length < limit) text += decoder.decode(chunk as Uint8Array, { stream: true })
  }
  return text
}

export function errorCode(text: string): string | null {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown; type?: unknown } })?.error?.code
    return typeof code === 'string' ? code : null
  } catch {
    return null
  }
}

/** Seconds from `Retry-After: <seconds>` or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, nowMs = Date.now()): number | null {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return null
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value)
  const date = Date.parse(value)
  return Number.isNaN(date) ? null : Math.max(0, (date - nowMs) / 1000)
}
