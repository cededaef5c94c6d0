import type { ChunkSink, StreamCall } from '../providers/stream-call.ts'
import type { Usage } from '../providers/types.ts'
import type { UpstreamFailure } from './failure.ts'
import type { Lease } from './lease.ts'

/**
 * A provider stream that has started answering (its first answer event is in hand), and the one
 * owner of its outcome. Failures before that point never get here: the executor fails them over
 * like any other failed call. Here the stream is relayed to its end and judged once: complete
 * (the provider's terminator came), or failed (cut, unreadable, too large, an error event, a
 * read timeout). The judgement goes to the breaker, the limiter, the attempt metrics and the
 * provider's health through the call's lease, and back to the caller, who ends the client's
 * answer with [DONE] or an error event accordingly. A client going away is not the provider's fault.
 */
export class UpstreamStream {
  readonly #call: StreamCall
  readonly #lease: Lease
  #relayed = false

  constructor(call: StreamCall, lease: Lease) {
    this.#call = call
    this.#lease = lease
  }

  get provider(): string {
    return this.#lease.deployment.provider.name
  }

  /** Token usage the provider reported (complete once the stream is over). */
  get usage(): Usage | undefined {
    return this.#call.translator.usage
  }

  /** Relays the rest of the stream into `sink`; resolves with the failure that ended it, or undefined. */
  async relay(sink: ChunkSink): Promise<UpstreamFailure | undefined> {
    if (this.#relayed) throw new Error('a stream is relayed once')
    this.#relayed = true
    const failure = await this.#call.relay(sink)
    this.#lease.end(failure)
    return failure
  }
}
