// Cancellation of one client request, cheap enough for the hot path. An AbortController costs a
// few microseconds per request once undici and the proxy have hung listeners on its EventTarget;
// most requests are never cancelled. A real AbortSignal is made only for the APIs that need one.

export interface CancelSignal {
  readonly aborted: boolean
  readonly reason: unknown
  /** Calls `fn` once on cancellation (at once if already cancelled); returns its remover. */
  onAbort(fn: () => void): () => void
  /** A standard AbortSignal following this one, made on first use. */
  asAbortSignal(): AbortSignal
}

export class Cancel implements CancelSignal {
  aborted = false
  reason: unknown
  #listeners: (() => void)[] | undefined
  #controller: AbortController | undefined

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    const listeners = this.#listeners
    this.#listeners = undefined
    if (listeners) for (const fn of listeners) fn()
    this.#controller?.abort(reason)
  }

  onAbort(fn: () => void): () => void {
    if (this.aborted) {
      fn()
      return noop
    }
    this.#listeners ??= []
    this.#listeners.push(fn)
    return () => {
      const i = this.#listeners?.indexOf(fn) ?? -1
      if (i !== -1) this.#listeners!.splice(i, 1)
    }
  }

  asAbortSignal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.aborted) this.#controller.abort(this.reason)
    }
    return this.#controller.signal
  }
}

function noop(): void {}

/** A signal that is never cancelled, for work no client waits on. */
export const NEVER: CancelSignal = {
  aborted: false,
  reason: undefined,
  onAbort: () => noop,
  asAbortSignal: () => new AbortController().signal,
}
