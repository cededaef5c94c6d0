import type { FlightOpening, StreamFlight } from '../cache/flights.ts'
import { flightOpening } from '../cache/flights.ts'
import type { ChatUpstream, UpstreamRun } from '../context/upstream.ts'
import { ProxyError } from '../errors.ts'
import { asProxyError } from '../http/errors.ts'
import { proxyReason } from '../http/in-flight.ts'
import { empty } from '../providers/sse.ts'
import { UpstreamFailure } from '../resilience/failure.ts'
import { toClientError } from '../resilience/map-error.ts'
import type { UpstreamStream } from '../resilience/upstream-stream.ts'
import { openingHeaders } from './answer-headers.ts'
import type { ProxyCall } from './call.ts'
import { SseWriter } from './sse-writer.ts'

// The client side of a streamed answer: the writer, the relay of a provider stream (alone, or
// shared with coalesced clients through a flight), and how it ends: [DONE] when the provider
// finished, else a last error event; an error status if the stream failed before it started.

/** The error event that ends a stream the provider failed after it started answering. */
export function streamFailureError(failure: UpstreamFailure): ProxyError {
  const base = { cause: failure, provider: failure.provider }
  switch (failure.kind) {
    case 'timeout':
      return new ProxyError('upstream_timeout', {
        ...base,
        message: 'The provider stopped sending the stream (read timeout); the answer is incomplete.',
      })
    case 'bad_response':
      return new ProxyError('upstream_bad_response', {
        ...base,
        message: `The provider sent an unreadable stream event (${failure.message}); the answer is incomplete.`,
      })
    case 'stream_error':
      return new ProxyError('upstream_error', {
        ...base,
        message: `The provider reported an error in the stream: ${failure.providerError?.message ?? failure.message}`,
      })
    case 'stream_cut':
    case 'reset':
      return new ProxyError('stream_truncated', {
        ...base,
        message: 'The provider ended the stream before it was complete; the answer is incomplete.',
      })
    default:
      return toClientError(failure)
  }
}

export function openWriter(call: ProxyCall): SseWriter {
  return new SseWriter(call.reply.raw, {
    headers: { 'x-request-id': call.id, 'x-cache': call.record.cache },
    pingMs: call.pingMs,
    monotonic: call.clock.monotonic,
    errorEvent: call.wire.errorEvent,
  })
}

/** The call failed before its first answer event: an error status, or an error event if a ping went out. */
function failBeforeStart(call: ProxyCall, writer: SseWriter, err: unknown): void {
  writer.stop()
  const { record, reply } = call
  const shutdown = proxyReason(call.cancel)
  const error = shutdown ?? asProxyError(err)
  if (err instanceof UpstreamFailure) record.failedAt(err)
  record.errorCode = error.code
  if (call.cancel.aborted && !shutdown) {
    reply.raw.destroy()
    return
  }
  if (writer.committed) {
    record.truncated = true
    writer.fail(error)
    return
  }
  if (error.status >= 500) call.log.warn({ code: error.code, provider: error.provider }, error.message)
  reply.raw.writeHead(error.status, {
    'content-type': 'application/json',
    'x-request-id': call.id,
    'x-cache': record.cache,
    ...error.headers,
  })
  reply.raw.end(JSON.stringify(call.wire.errorBody(error)))
}

/** Commits the headers; if a ping already did, says the conversation was condensed in a comment. */
function commit(call: ProxyCall, writer: SseWriter, o: FlightOpening, coalesced: boolean): void {
  if (writer.committed && o.condensed) {
    writer.write(
      Buffer.from(`: x-context-condensed tokens ${o.condensed.before} -> ${o.condensed.after}\n\n`),
    )
  }
  writer.commit(openingHeaders(call, o, coalesced))
  call.record.answeredBy(o)
  call.record.ttftMs = call.clock.monotonic() - call.record.started
}

/** Ends the answer after its stream ended: [DONE] was relayed, or the failure is reported. */
function conclude(call: ProxyCall, writer: SseWriter, failure: UpstreamFailure | undefined): void {
  if (!failure) {
    writer.end()
    return
  }
  const { record } = call
  record.truncated = true
  const shutdown = proxyReason(call.cancel)
  if (failure.kind === 'aborted' && !shutdown) {
    writer.stop()
    record.errorCode = 'client_closed_request'
    return
  }
  const error = shutdown ?? streamFailureError(failure)
  if (!shutdown)
    call.log.warn({ code: error.code, provider: failure.provider, cause: failure.message }, error.message)
  record.errorCode = error.code
  writer.fail(error)
}

/** A stream that bypasses the cache: relayed from the provider to this one client. */
export async function relayDirect(call: ProxyCall, upstream: ChatUpstream): Promise<void> {
  const writer = openWriter(call)
  let out: UpstreamRun<UpstreamStream>
  try {
    out = await upstream.stream(call.route, call.req, call.cancel, call.deadline)
  } catch (err) {
    return failBeforeStart(call, writer, err)
  }
  commit(call, writer, flightOpening(out), false)
  const stream = out.run.value
  const failure = await stream.relay(writer)
  call.record.usage = stream.usage
  conclude(call, writer, failure)
}

/**
 * A stream answered from a flight (a cacheable miss, maybe coalesced with other clients): the
 * flight's events are relayed at this client's pace, the usage chunk only if it asked for it.
 */
export async function relayFlight(call: ProxyCall, flight: StreamFlight, joined: boolean): Promise<void> {
  const writer = openWriter(call)
  while (flight.opening === undefined && !flight.ended) await flight.changed(0)
  const opening = flight.opening
  if (opening === undefined) return failBeforeStart(call, writer, flight.openError)
  commit(call, writer, opening, joined)
  const { cancel, req } = call
  let i = 0
  const batch: Buffer[] = []
  for (;;) {
    // Whatever the flight logged since this client's last write goes out in one write.
    for (; i < flight.chunks.length; i++)
      if (i !== flight.usageIndex || req.includeUsage) batch.push(flight.chunks[i])
    if (batch.length > 0) {
      const wait = writer.writeAll(batch)
      empty(batch)
      if (wait) await wait
    }
    if (cancel.aborted) {
      const failure = new UpstreamFailure('aborted', {
        message: 'cancelled',
        retryable: false,
        countsAsFailure: false,
      })
      return conclude(call, writer, failure)
    }
    if (flight.ended) break
    const wait = flight.changed(i)
    if (wait) await wait
  }
  call.record.usage = flight.usage
  conclude(call, writer, flight.failure)
}
