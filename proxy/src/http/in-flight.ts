import type { Cancel } from '../cancel.ts'
import { ProxyError } from '../errors.ts'

/**
 * The proxy requests in progress, each by the cancellation that stops its upstream work. A
 * draining proxy at its deadline cancels them with the reason (`shutting_down`), and each one
 * answers the reason itself: an error status if nothing was sent yet, else a last error event.
 */
export class InFlight {
  readonly #cancels = new Set<Cancel>()

  add(cancel: Cancel): void {
    this.#cancels.add(cancel)
  }

  delete(cancel: Cancel): void {
    this.#cancels.delete(cancel)
  }

  get size(): number {
    return this.#cancels.size
  }

  /** Cancels every request in progress with `reason`; returns how many there were. */
  abortAll(reason: ProxyError): number {
    const n = this.#cancels.size
    for (const cancel of this.#cancels) cancel.abort(reason)
    this.#cancels.clear()
    return n
  }
}

/** The reason a request was cancelled by the proxy itself (shutting down), if it was. */
export function proxyReason(signal: {
  readonly aborted: boolean
  readonly reason: unknown
}): ProxyError | undefined {
  return signal.aborted && signal.reason instanceof ProxyError ? signal.reason : undefined
}
