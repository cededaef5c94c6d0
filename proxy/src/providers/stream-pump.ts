import type { CancelSignal } from '../cancel.ts'
import { networkFailure, UpstreamFailure } from '../resilience/failure.ts'
import type { StreamStart } from './attempt.ts'
import { EventTooLarge } from './sse.ts'

/** Where a relayed stream goes: a client's SSE writer, or a flight shared by coalesced clients. */
export interface ChunkSink {
  /** Takes one client-ready event; resolves when more can be written (backpressure). */
  write(chunk: Buffer): Promise<void> | undefined
  /**
   * Takes the events translated from one read of the provider's stream, in order. A client's
   * writer sends them in one write: one system call, not one per event.
   */
  writeAll(chunks: readonly Buffer[]): Promise<void> | undefined
}

/**
 * Forwards the rest of a provider stream event by event, translating on the way. Resolves with
 * the failure that ended it early, or undefined when the provider finished it properly. After
 * the terminator the body is still read to its end so the connection can be reused.
 */
export async function pump(
  start: StreamStart,
  writer: ChunkSink,
  signal: CancelSignal,
): Promise<UpstreamFailure | undefined> {
  const { translator, parser, chunks } = start
  const out: Buffer[] = []
  try {
    if (start.first.length > 0) await writer.writeAll(start.first)
    for (;;) {
      if (translator.error) break
      const next = await chunks.next()
      if (next.done) break
      if (translator.done) continue
      for (const event of parser.push(next.value)) translator.translate(event, out)
      if (out.length > 0) {
        const wait = writer.writeAll(out)
        out.length = 0
        if (wait) await wait
      }
    }
  } catch (err) {
    if (translator.done) return undefined
    start.body.destroy()
    if (err instanceof SyntaxError || err instanceof EventTooLarge) {
      return new UpstreamFailure('bad_response', {
        message: err.message,
        retryable: false,
        countsAsFailure: true,
      })
    }
    return networkFailure(err, signal)
  }
  if (translator.done) return undefined
  start.body.destroy()
  if (translator.error) {
    return new UpstreamFailure('stream_error', {
      message: `provider stream error: ${translator.error.message}`,
      providerError: translator.error,
      retryable: false,
      countsAsFailure: true,
    })
  }
  return new UpstreamFailure('stream_cut', {
    message: `the provider ended the stream after ${translator.answerEvents} answer events without its terminator`,
    retryable: false,
    countsAsFailure: true,
  })
}
