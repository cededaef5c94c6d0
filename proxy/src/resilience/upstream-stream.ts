import type { CancelSignal } from '../cancel.ts'
import type { StreamStart } from '../providers/attempt.ts'
import { type ChunkSink, pump } from '../providers/stream-pump.ts'
import type { Usage } from '../providers/types.ts'
import { networkFailure, type UpstreamFailure } from './failure.ts'
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
  readonly #start: StreamStart
  readonly #lease: Lease
  #relayed = false

  constructor(start: StreamStart, lease: Lease) {
    this.#start = start
    this.#lease = lease
  }

  get provider(): string {
    return this.#lease.deployment.provider.name
  }

  /** Token usage the provider reported (complete once the stream is over). */
  get usage(): Usage | undefined {
    return this.#start.translator.usage
  }

  /** Relays the rest of the stream into `sink`; resolves with the failure that ended it, or undefined. */
  async relay(sink: ChunkSink, signal: CancelSignal): Promise<UpstreamFailure | undefined> {
    if (this.#relayed) throw new Error('a stream is relayed once')
    this.#relayed = true
    let failure: UpstreamFailure | undefined
    try {
      failure = await pump(this.#start, sink, signal)
    } catch (err) {
      this.#start.body.destroy()
      failure = networkFailure(err, signal)
    }
    this.#lease.end(failure)
    return failure
  }

  /** Gives the stream up unread (nobody is left to receive it). */
  abandon(failure: UpstreamFailure): void {
    if (this.#relayed) return
    this.#relayed = true
    this.#start.body.destroy()
    this.#lease.end(failure)
  }
}
