/** Something waiting for a slot; started when one frees. */
export interface Waiter {
  start(): void
}

/**
 * At most `limit` plans run at once; up to `capacity` more wait in FIFO order. limit 0 = no limit.
 * Queue wait is real time: a waiter's plan (its delays included) only starts when it gets a slot.
 */
export class ConcurrencyLimiter {
  #limit = 0
  #capacity = 0
  readonly #holders = new Set<Waiter>()
  #queue: Waiter[] = []
  #head = 0

  get enabled(): boolean {
    return this.#limit > 0
  }

  get active(): number {
    return this.#holders.size
  }

  get queued(): number {
    return this.#queue.length - this.#head
  }

  /** New limits apply at once: a raised (or removed) limit starts waiters. */
  configure(limit: number, capacity: number): void {
    this.#limit = limit
    this.#capacity = capacity
    this.#drain()
  }

  /** 'run' (slot taken), 'queued' (start() comes later) or 'full' (answer the overflow status). */
  acquire(waiter: Waiter): 'run' | 'queued' | 'full' {
    if (this.#limit === 0) return 'run'
    if (this.#holders.size < this.#limit && this.queued === 0) {
      this.#holders.add(waiter)
      return 'run'
    }
    if (this.queued >= this.#capacity) return 'full'
    this.#queue.push(waiter)
    return 'queued'
  }

  /** Gives back the slot of a finished waiter, or takes a waiter out of the queue. True if it was queued. */
  release(waiter: Waiter): boolean {
    if (this.#holders.delete(waiter)) {
      this.#drain()
      return false
    }
    const at = this.#queue.indexOf(waiter, this.#head)
    if (at === -1) return false
    this.#queue.splice(at, 1)
    return true
  }

  /** Forgets every holder and waiter (reset, close); waiters are not started. */
  clear(): Waiter[] {
    const dropped = this.#queue.slice(this.#head)
    this.#queue = []
    this.#head = 0
    this.#holders.clear()
    return dropped
  }

  #drain(): void {
    while (this.queued > 0 && (this.#limit === 0 || this.#holders.size < this.#limit)) {
      const next = this.#queue[this.#head++]
      if (this.#limit > 0) this.#holders.add(next)
      next.start()
    }
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }
}
