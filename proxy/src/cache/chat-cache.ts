import type { Clock } from '../clock.ts'
import type { ChatUpstream, UpstreamRun } from '../context/upstream.ts'
import { withUsageOption } from '../providers/chat-wire.ts'
import type { Route } from '../providers/registry.ts'
import type { ChatRequest, CompletionResult, Json } from '../providers/types.ts'
import type { UpstreamStream } from '../resilience/upstream-stream.ts'
import { type AnswerOrigin, answerFromCompletion, answerFromStream, type CachedAnswer } from './answer.ts'
import { CompletionFlight, FlightTable, flightOpening, StreamFlight } from './flights.ts'
import { responseKey, routeSignature } from './key.ts'
import type { KeyMemo } from './key-memo.ts'
import { type CacheMode, cacheMode, type PolicySettings } from './policy.ts'
import type { PopularityTracker } from './popularity.ts'
import type { ResponseCache } from './response-cache.ts'
import { EventPacker } from './sse-pack.ts'

export interface CompletionOutcome {
  readonly upstream: UpstreamRun<CompletionResult>
  readonly answer: CachedAnswer
}

export interface Joined<F> {
  readonly flight: F
  /** The client joined a call another client started (coalesced). */
  readonly joined: boolean
}

/** Where the key memo keeps a request's body: the same bytes can be a request to another API. */
function memoSpace(req: ChatRequest): string {
  const dialect = req.dialect ?? 'chat'
  return dialect === 'chat' ? '' : dialect
}

/** The request as the upstream sees it in a cached stream: usage always asked for (see StreamFlight.usageIndex). */
function withUsage(req: ChatRequest): ChatRequest {
  if (req.includeUsage) return req
  const body: Record<string, Json> = {
    ...req.body,
    stream_options: { ...req.body.stream_options, include_usage: true },
  }
  // The client's bytes with the option put in front when it sent none (no member twice): a long
  // conversation is not serialized again on every streamed miss.
  const raw = req.body.stream_options === undefined ? withUsageOption(req.raw) : undefined
  return { body, raw: raw ?? Buffer.from(JSON.stringify(body)), stream: true, includeUsage: true }
}

/**
 * The response cache in front of the providers for chat completions: the policy and key of a
 * request, lookups, and the upstream calls behind misses, one per key at a time (coalescing),
 * whose complete answers are stored. Streams and plain requests coalesce separately (one call
 * each per key); both store the same normalized answer. Also runs the cache warmer's refreshes,
 * which no request ever waits for: they are not registered as flights.
 */
export class ChatCache {
  readonly response: ResponseCache
  readonly tracker: PopularityTracker | undefined
  readonly settings: PolicySettings
  readonly completions = new FlightTable<CompletionFlight<CompletionOutcome>>()
  readonly streams = new FlightTable<StreamFlight>()
  readonly #upstream: ChatUpstream
  readonly #clock: Clock
  readonly #signatures = new WeakMap<Route, string>()
  readonly #memo: KeyMemo | undefined
  readonly #packer = new EventPacker()

  constructor(deps: {
    response: ResponseCache
    tracker?: PopularityTracker
    upstream: ChatUpstream
    settings: PolicySettings
    clock: Clock
    /** Remembers the key of each distinct body (optional: keys are then computed every time). */
    keyMemo?: KeyMemo
  }) {
    this.#memo = deps.keyMemo
    this.response = deps.response
    this.tracker = deps.tracker
    this.settings = deps.settings
    this.#upstream = deps.upstream
    this.#clock = deps.clock
  }

  mode(cacheControl: string | string[] | undefined, req: ChatRequest): CacheMode {
    return cacheMode(cacheControl, req.body, this.settings, req.dialect)
  }

  /** The key of a request's answer: its route, its API (chat answers keep their keys), its body. */
  key(route: Route, req: ChatRequest): string {
    const dialect = req.dialect ?? 'chat'
    const compute = () => this.#key(route, req.body, dialect)
    if (!this.#memo) return compute()
    return this.#memo.key(req.raw, compute, memoSpace(req))
  }

  #key(route: Route, body: Record<string, Json>, dialect: string): string {
    let signature = this.#signatures.get(route)
    if (signature === undefined) {
      signature = routeSignature(route)
      this.#signatures.set(route, signature)
    }
    return responseKey(body, dialect === 'chat' ? signature : `${dialect}:${signature}`)
  }

  /** A lookup for the key: counts towards its popularity (cache warming). */
  touch(key: string, req: ChatRequest): void {
    this.tracker?.touch(key, req.raw, req.stream)
  }

  /**
   * The stored answer for a request, by its policy: `use` looks in this instance's cache, then
   * the shared tier; `refresh` and `bypass` never answer from the cache (and are counted).
   */
  lookup(
    key: string,
    mode: CacheMode,
    req: ChatRequest,
  ): CachedAnswer | Promise<CachedAnswer | undefined> | undefined {
    if (mode !== 'use') {
      this.response.bypasses++
      return undefined
    }
    const response = this.response
    const local = response.local(key)
    if (local !== undefined) {
      // A body answered from the cache is likely to come again: its key is remembered.
      this.#memo?.remember(req.raw, key, memoSpace(req))
      return local
    }
    return response.l2 ? response.shared(key) : undefined
  }

  /** `deadline`: the requesting client's (monotonic ms); a coalesced flight keeps its starter's. */
  completion(
    key: string,
    route: Route,
    req: ChatRequest,
    mode: CacheMode,
    deadline: number,
  ): Joined<CompletionFlight<CompletionOutcome>> {
    const coalesce = mode === 'use'
    const existing = coalesce ? this.completions.get(key) : undefined
    if (existing) {
      existing.join()
      return { flight: existing, joined: true }
    }
    const flight = this.#startCompletion(key, route, req, false, coalesce, deadline)
    flight.join()
    return { flight, joined: false }
  }

  stream(
    key: string,
    route: Route,
    req: ChatRequest,
    mode: CacheMode,
    deadline: number,
  ): Joined<StreamFlight> {
    const coalesce = mode === 'use'
    const existing = coalesce ? this.streams.get(key) : undefined
    if (existing) {
      existing.join()
      return { flight: existing, joined: true }
    }
    const flight = this.#startStream(key, route, req, false, coalesce, deadline)
    flight.join()
    return { flight, joined: false }
  }

  /** Fetches and stores one answer in the background (warming); resolves true when stored. */
  async prefetch(key: string, route: Route, req: ChatRequest): Promise<boolean> {
    const deadline = this.#upstream.deadline()
    if (req.stream) {
      const flight = this.#startStream(key, route, req, true, false, deadline)
      await flight.stored
      if (flight.openError !== undefined) throw flight.openError
      if (flight.failure !== undefined) throw flight.failure
      return true
    }
    const flight = this.#startCompletion(key, route, req, true, false, deadline)
    await flight.result
    return true
  }

  #origin(provider: string, route: Route, condensed: AnswerOrigin['condensed']): AnswerOrigin {
    return { provider, model: route.name, storedAt: this.#clock.now(), condensed }
  }

  #startCompletion(
    key: string,
    route: Route,
    req: ChatRequest,
    pinned: boolean,
    register: boolean,
    deadline: number,
  ): CompletionFlight<CompletionOutcome> {
    const flight = new CompletionFlight<CompletionOutcome>(pinned)
    if (register) this.completions.add(key, flight)
    flight.result = this.#upstream
      .complete(route, req, flight.abort, deadline)
      .then((upstream) => {
        const { value, deployment } = upstream.run
        const answer = answerFromCompletion(
          value.body,
          value.usage,
          this.#origin(deployment.provider.name, route, upstream.condensed),
        )
        this.response.store(key, answer)
        return { upstream, answer }
      })
      .finally(() => {
        flight.settled = true
        this.completions.remove(key, flight)
      })
    // Clients that left before the end would leave the rejection unobserved.
    flight.result.catch(() => {})
    return flight
  }

  #startStream(
    key: string,
    route: Route,
    req: ChatRequest,
    pinned: boolean,
    register: boolean,
    deadline: number,
  ): StreamFlight {
    const flight = new StreamFlight(pinned)
    if (register) this.streams.add(key, flight)
    flight.stored = this.#runStream(key, route, withUsage(req), flight, deadline).finally(() => {
      this.streams.remove(key, flight)
      flight.finish()
    })
    return flight
  }

  async #runStream(
    key: string,
    route: Route,
    req: ChatRequest,
    flight: StreamFlight,
    deadline: number,
  ): Promise<void> {
    const signal = flight.abort
    let upstream: UpstreamRun<UpstreamStream>
    try {
      upstream = await this.#upstream.stream(route, req, signal, deadline)
    } catch (err) {
      flight.fail(err)
      return
    }
    const { run } = upstream
    const stream = run.value
    flight.open(flightOpening(upstream))
    const failure = await stream.relay(flight)
    flight.usage = stream.usage
    flight.end(failure)
    if (failure) return
    // Only a stream that ended with its terminator is stored; a cut one never is.
    const answer = answerFromStream(
      flight.chunks,
      flight.usageIndex,
      stream.usage,
      this.#origin(stream.provider, route, upstream.condensed),
      this.#packer,
    )
    if (answer) this.response.store(key, answer)
  }
}
