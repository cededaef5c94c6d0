import type { Clock } from '../clock.ts'
import type { Deployment } from '../providers/registry.ts'
import type { BreakerCall } from './breaker.ts'
import type { AttemptEvent } from './executor.ts'
import type { UpstreamFailure } from './failure.ts'

/**
 * One call to one provider, from the moment the breaker and the limiter let it through until its
 * outcome is known: at once for a plain answer, when the stream is over for a stream. `end` is
 * the one place that outcome is recorded, once: the breaker's window, the limiter's slot and
 * adaptive limit, the attempt metrics, the provider's last error.
 */
export class Lease {
  readonly deployment: Deployment
  readonly #call: BreakerCall
  readonly #clock: Clock
  readonly #onAttempt: ((event: AttemptEvent) => void) | undefined
  readonly #started: number
  #ended = false

  constructor(
    deployment: Deployment,
    call: BreakerCall,
    clock: Clock,
    onAttempt: ((event: AttemptEvent) => void) | undefined,
  ) {
    this.deployment = deployment
    this.#call = call
    this.#clock = clock
    this.#onAttempt = onAttempt
    this.#started = clock.monotonic()
  }

  /** Milliseconds since the call started. */
  elapsed(): number {
    return this.#clock.monotonic() - this.#started
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Records the call's outcome (undefined: it succeeded); returns its duration in ms. Once. */
  end(failure?: UpstreamFailure): number {
    const durationMs = this.#clock.monotonic() - this.#started
    if (this.#ended) return durationMs
    this.#ended = true
    const provider = this.deployment.provider
    this.#call.end(failure)
    if (failure === undefined) provider.limiter.release('ok', durationMs)
    else if (failure.status === 429) provider.limiter.release('throttled', durationMs, failure.retryAfterMs)
    else provider.limiter.release('failed', durationMs)
    if (failure !== undefined) {
      failure.provider = provider.name
      // Neither a client gone nor a request no call was made for says anything of the provider.
      if (failure.kind !== 'aborted' && failure.kind !== 'client_input') {
        provider.lastError = {
          at: new Date(this.#clock.now()).toISOString(),
          kind: failure.kind,
          status: failure.status,
          message: lastErrorMessage(failure),
        }
      }
    }
    this.#onAttempt?.({
      provider: provider.name,
      durationMs,
      outcome: failure === undefined ? 'ok' : failure.kind,
      status: failure === undefined ? 200 : failure.status,
    })
    return durationMs
  }
}

/** Statuses a provider answers to what a client sent: their messages quote the client's request. */
const CLIENT_STATUSES = new Set([400, 413, 422])

/**
 * What the public health endpoints show of a provider's last error. A provider's words about a
 * client's request ("Invalid 'messages[3].content': ...") may quote that client's prompt: they go
 * back to that client only, and the health endpoints say what kind of refusal it was.
 */
function lastErrorMessage(failure: UpstreamFailure): string {
  if (failure.kind !== 'status' || !CLIENT_STATUSES.has(failure.status ?? 0)) return failure.message
  return `provider answered ${failure.status}: a request it refused as invalid (its message went to that client)`
}
