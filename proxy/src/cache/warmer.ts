import type { Clock } from '../clock.ts'
import type { Route } from '../providers/registry.ts'
import type { ChatRequest } from '../providers/types.ts'
import type { ChatCache } from './chat-cache.ts'
import type { PopularityTracker } from './popularity.ts'

export interface WarmingSettings {
  /** caching.warming.enabled: the background runs (the admin route works either way). */
  readonly enabled: boolean
  readonly intervalMs: number
  /** Refresh popular entries before they expire, and fetch again popular ones that were dropped. */
  readonly preloadPopular: boolean
  /** Decayed accesses that make a key popular (see PopularityTracker). */
  readonly threshold: number
  readonly maxPerRun: number
  readonly concurrency: number
}

export interface Prepared {
  readonly key: string
  readonly route: Route
  readonly req: ChatRequest
}

export interface WarmResult {
  readonly model: string | null
  readonly key: string | null
  /** cached: already fresh; warmed: fetched and stored; failed / invalid: see error. */
  readonly status: 'cached' | 'warmed' | 'failed' | 'invalid'
  readonly error?: string
}

export interface WarmRun {
  readonly candidates: number
  readonly fresh: number
  readonly refreshed: number
  readonly failed: number
  readonly duration_ms: number
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await run(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/**
 * Cache warming, off the request path: every interval, the popular keys whose entry would
 * expire before the next run (or is already gone) are fetched again in the background, and the
 * popularity counts decay. Requests never wait for it: a refresh is not a flight they can join,
 * and the entry it replaces keeps answering until the new one is stored. Runs never overlap.
 */
export class CacheWarmer {
  readonly #settings: WarmingSettings
  readonly #tracker: PopularityTracker
  readonly #chat: ChatCache
  readonly #prepare: (body: unknown) => Prepared
  readonly #clock: Clock
  #timer: NodeJS.Timeout | undefined
  #running: Promise<WarmRun> | undefined
  readonly #stats = {
    runs: 0,
    refreshed: 0,
    failed: 0,
    fresh: 0,
    requested: 0,
    in_flight: 0,
    skipped_overlapping: 0,
    last_run_at: null as string | null,
    last_duration_ms: null as number | null,
    last_error: null as string | null,
  }

  constructor(deps: {
    settings: WarmingSettings
    tracker: PopularityTracker
    chat: ChatCache
    /** Parses and routes a chat request body; throws a ProxyError when it cannot. */
    prepare: (body: unknown) => Prepared
    clock: Clock
  }) {
    this.#settings = deps.settings
    this.#tracker = deps.tracker
    this.#chat = deps.chat
    this.#prepare = deps.prepare
    this.#clock = deps.clock
  }

  start(): void {
    if (!this.#settings.enabled || this.#timer) return
    this.#timer = setInterval(() => void this.run(), this.#settings.intervalMs)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Entries expiring within this window are refreshed: before the next run, with a margin. */
  get refreshWindowMs(): number {
    return this.#settings.intervalMs * 1.5
  }

  /** One warming run (also POST /api/cache/warm without a body). */
  run(): Promise<WarmRun> {
    if (this.#running) {
      this.#stats.skipped_overlapping++
      return this.#running
    }
    this.#running = this.#run().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  /** Fetches the answers of these chat requests unless fresh ones are cached (POST /api/cache/warm). */
  warm(bodies: readonly unknown[]): Promise<WarmResult[]> {
    this.#stats.requested += bodies.length
    return mapLimit(bodies, this.#settings.concurrency, async (body): Promise<WarmResult> => {
      let prepared: Prepared
      try {
        prepared = this.#prepare(body)
      } catch (err) {
        return { model: null, key: null, status: 'invalid', error: (err as Error).message }
      }
      const { key, route } = prepared
      if (this.#chat.response.remainingTtl(key) > this.refreshWindowMs) {
        return { model: route.name, key, status: 'cached' }
      }
      const error = await this.#refresh(prepared)
      if (error) this.#stats.failed++
      else this.#stats.refreshed++
      return error
        ? { model: route.name, key, status: 'failed', error }
        : { model: route.name, key, status: 'warmed' }
    })
  }

  stats(): Record<string, number | string | null> {
    return {
      ...this.#stats,
      enabled: String(this.#settings.enabled),
      interval_seconds: this.#settings.intervalMs / 1000,
      preload_threshold: this.#settings.threshold,
      tracked_keys: this.#tracker.size,
      tracked_bytes: this.#tracker.bytes(),
    }
  }

  async #run(): Promise<WarmRun> {
    const started = this.#clock.monotonic()
    let fresh = 0
    let refreshed = 0
    let failed = 0
    let candidates = 0
    if (this.#settings.preloadPopular) {
      const popular = this.#tracker.popular(this.#settings.threshold, this.#settings.maxPerRun)
      candidates = popular.length
      const due = popular.filter((p) => this.#chat.response.remainingTtl(p.key) <= this.refreshWindowMs)
      fresh = popular.length - due.length
      await mapLimit(due, this.#settings.concurrency, async (p) => {
        let prepared: Prepared
        try {
          prepared = this.#prepare(JSON.parse(p.request.toString('utf8')))
        } catch {
          this.#tracker.forget(p.key) // its model is no longer routed, say
          failed++
          return
        }
        if ((await this.#refresh(prepared)) === undefined) refreshed++
        else failed++
      })
    }
    this.#tracker.decay()
    const duration = this.#clock.monotonic() - started
    Object.assign(this.#stats, {
      runs: this.#stats.runs + 1,
      refreshed: this.#stats.refreshed + refreshed,
      failed: this.#stats.failed + failed,
      fresh: this.#stats.fresh + fresh,
      last_run_at: new Date(this.#clock.now()).toISOString(),
      last_duration_ms: Math.round(duration),
    })
    return { candidates, fresh, refreshed, failed, duration_ms: Math.round(duration) }
  }

  /** Undefined when stored, else why not. */
  async #refresh(p: Prepared): Promise<string | undefined> {
    this.#stats.in_flight++
    try {
      await this.#chat.prefetch(p.key, p.route, p.req)
      return undefined
    } catch (err) {
      const message = (err as Error)?.message ?? String(err)
      this.#stats.last_error = message
      return message
    } finally {
      this.#stats.in_flight--
    }
  }
}
