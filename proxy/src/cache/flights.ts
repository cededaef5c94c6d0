import { Cancel } from '../cancel.ts'
import type { UpstreamRun } from '../context/upstream.ts'
import { empty } from '../providers/sse.ts'
import type { ChunkSink } from '../providers/stream-call.ts'
import type { Usage } from '../providers/types.ts'
import type { UpstreamFailure } from '../resilience/failure.ts'

// Request coalescing: concurrent identical cache misses share one upstream call. A flight is that
// call; clients join it and leave it. The upstream call is aborted only when every client has
// left (one client going away must not cut the answer of the others). A pinned flight (cache
// warming) is never aborted for want of clients.

/** What every client of a flight learns when its upstream call has started answering. */
export interface FlightOpening {
  readonly provider: string
  readonly attempts: number
  readonly upstreamMs: number
  readonly waitMs: number
  readonly condensed: { before: number; after: number } | null
}

/** The opening of the upstream run that answers a flight (or a client directly). */
export function flightOpening(out: UpstreamRun<unknown>): FlightOpening {
  const { run } = out
  return {
    provider: run.deployment.provider.name,
    attempts: run.attempts,
    upstreamMs: run.upstreamMs,
    waitMs: run.waitMs,
    condensed: out.condensed,
  }
}

class Members {
  readonly abort = new Cancel()
  readonly pinned: boolean
  #count = 0
  settled = false

  constructor(pinned: boolean) {
    this.pinned = pinned
  }

  join(): void {
    this.#count++
  }

  leave(): void {
    this.#count--
    if (this.#count <= 0 && !this.settled && !this.pinned) this.abort.abort()
  }

  get count(): number {
    return this.#count
  }
}

/** A non-streamed upstream call shared by coalesced clients. */
export class CompletionFlight<T> extends Members {
  result!: Promise<T>
}

/**
 * A streamed upstream call shared by coalesced clients: the client-ready events are logged as
 * they come, and each client reads the log at its own pace (a slow client does not slow the
 * others or the provider). The log is also what the cache stores once the stream completed.
 */
export class StreamFlight extends Members implements ChunkSink {
  readonly chunks: Buffer[] = []
  /** Index of the usage chunk in `chunks` (sent only to clients that asked for usage), or -1. */
  usageIndex = -1
  opening: FlightOpening | undefined
  /** Why the call failed before its first event (each client answers it with an error status). */
  openError: unknown
  ended = false
  /** Why the stream ended early; undefined when it ended with its terminator. */
  failure: UpstreamFailure | undefined
  /** Token usage the provider reported, once the stream is over. */
  usage: Usage | undefined
  /** Settles once the call is over and its answer, if complete, stored. */
  stored: Promise<void> = Promise.resolve()
  #wake: (() => void)[] = []
  #finished = false

  /**
   * The call is over, its answer stored (or not) and the flight out of its table: the log is
   * released as soon as no client reads it any more. Kept as long as the flight, a log (every chunk
   * of the answer, and the provider's read buffers they are views of) outlived young-generation
   * collections whenever the flight had been promoted, until a full one: a full collection every
   * second at 4,000 cacheable streams/s, against one in three seconds with the log released.
   */
  finish(): void {
    this.#finished = true
    this.#release()
  }

  override leave(): void {
    super.leave()
    this.#release()
  }

  #release(): void {
    if (this.#finished && this.count <= 0) empty(this.chunks)
  }

  write(chunk: Buffer): undefined {
    if (this.usageIndex === -1 && isUsageChunk(chunk)) this.usageIndex = this.chunks.length
    this.chunks.push(chunk)
    this.#notify()
    return undefined
  }

  writeAll(chunks: readonly Buffer[]): undefined {
    for (const chunk of chunks) this.write(chunk)
    return undefined
  }

  open(opening: FlightOpening): void {
    this.opening = opening
    this.#notify()
  }

  fail(error: unknown): void {
    this.openError = error
    this.ended = true
    this.settled = true
    this.#notify()
  }

  end(failure: UpstreamFailure | undefined): void {
    this.failure = failure
    this.ended = true
    this.settled = true
    this.#notify()
  }

  /** Resolves when there is news past `seen` chunks (a chunk, the opening, the end). */
  changed(seen: number): Promise<void> | undefined {
    if (this.ended || this.chunks.length > seen) return undefined
    return new Promise((resolve) => this.#wake.push(resolve))
  }

  #notify(): void {
    if (this.#wake.length === 0) return
    const wake = this.#wake
    this.#wake = []
    for (const resolve of wake) resolve()
  }
}

const CHOICES = Buffer.from('"choices":[')

/**
 * The chunk is the usage chunk: its first event's choices are empty. A chunk is one event or a run
 * of text events (stream-call.ts), never the usage chunk inside a run, and every chunk's first
 * event has choices (an event without fails the stream before it is written here), so the first
 * `"choices":[` found is the first event's: one search, stopping in the first event of a run of 64,
 * and no view of it made (a chunk an event when tokens are paced).
 */
function isUsageChunk(chunk: Buffer): boolean {
  const at = chunk.indexOf(CHOICES)
  return at !== -1 && chunk[at + CHOICES.length] === 0x5d // ]
}

/** The flights in progress, by cache key; a flight leaves the table when its call settles. */
export class FlightTable<F extends { readonly abort: Cancel }> {
  readonly #flights = new Map<string, F>()
  /** Clients that joined a flight started by another (each one upstream call saved). */
  coalesced = 0

  /** The flight a client can join: not one being aborted because its last client left. */
  get(key: string): F | undefined {
    const flight = this.#flights.get(key)
    if (flight === undefined || flight.abort.aborted) return undefined
    this.coalesced++
    return flight
  }

  add(key: string, flight: F): void {
    this.#flights.set(key, flight)
  }

  /** Removes the flight if it is still the one registered under `key`. */
  remove(key: string, flight: F): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key)
  }

  get size(): number {
    return this.#flights.size
  }
}
