import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'
import type { Clock } from '../clock.ts'
import { compileGlob } from './glob.ts'

/** Which entries an invalidation drops. */
export type InvalidationScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'provider'; readonly provider: string }
  | { readonly kind: 'pattern'; readonly pattern: string }

export interface RedisTierOptions {
  readonly url: string
  /** caching.redis.key_prefix: every key and the channel start with it. */
  readonly prefix: string
  /** caching.redis.operation_timeout in ms: a lookup slower than this is a miss. */
  readonly operationTimeoutMs: number
  readonly connectTimeoutMs: number
  /** This instance, so it ignores its own invalidations coming back from the channel. */
  readonly instanceId: string
  readonly clock: Clock
  /** Another instance invalidated: drop the same entries from the in-process cache. */
  readonly onRemote: (scope: InvalidationScope) => void
  /** Invalidations may have been missed while disconnected: drop the whole in-process cache. */
  readonly onResync: () => void
}

export interface RedisStatus {
  configured: boolean
  connected: boolean
  last_error: string | null
  /** Operations that failed or timed out since start. */
  failures: number
  timeouts: number
  /** Set while the tier is not fully usable: why. */
  degraded: string | null
}

/** Failures this recent keep the tier reported as degraded. */
const RECENT_MS = 30_000
const ADMIN_TIMEOUT_MS = 10_000

class Timeout extends Error {}

/**
 * The shared second tier of the response cache, in Redis (ioredis). Layout, under the prefix:
 *   rc:<key>            the record (the same bytes as in-process), PX = the entry's TTL
 *   rcp:<provider>      set of keys answered by that provider   } for invalidation by provider
 *   rcm:<model>         set of keys of that model (route)       } and by pattern; expire with
 *                                                                  their newest member
 *   epoch               incremented by every invalidation
 *   invalidate          pub/sub channel: {origin, epoch, scope} for every invalidation
 * Every operation is bounded by operation_timeout and never throws to a request: a slow or
 * unreachable Redis is a miss, a store that did not happen, and a degraded health check. The
 * client queues nothing while disconnected (enableOfflineQueue false) and reconnects by itself.
 * When it comes back and the epoch moved, invalidations were missed: the in-process tier is
 * dropped (onResync).
 */
export class RedisTier {
  readonly #opts: RedisTierOptions
  readonly #client: Redis
  readonly #sub: Redis
  readonly #channel: string
  #connected = false
  #subscribed = false
  #epoch: number | undefined
  #lastError: string | null = null
  #lastFailureAt = Number.NEGATIVE_INFINITY
  #failures = 0
  #timeouts = 0
  #closed = false

  constructor(opts: RedisTierOptions) {
    this.#opts = opts
    this.#channel = `${opts.prefix}invalidate`
    const options = {
      connectTimeout: opts.connectTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      lazyConnect: true,
    }
    // Loaded only when the shared tier is configured: ioredis costs some 20 MB of RSS otherwise.
    const { Redis: Client } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis')
    this.#client = new Client(opts.url, options)
    this.#sub = new Client(opts.url, { ...options, enableOfflineQueue: true })
    this.#client.on('error', (err: Error) => this.#failed(err))
    // The channel's own connection errors are not operations that failed: `subscribed` tells.
    this.#sub.on('error', (err: Error) => {
      this.#lastError = err.message
    })
    this.#sub.on('close', () => {
      this.#subscribed = false
    })
    this.#client.on('close', () => {
      this.#connected = false
    })
    this.#client.on('ready', () => {
      this.#connected = true
      // Failures while it was down said so already; from now on only new ones count.
      this.#lastFailureAt = Number.NEGATIVE_INFINITY
      void this.#checkEpoch()
    })
    this.#sub.on('ready', () => {
      this.#subscribed = true
      void this.#checkEpoch()
    })
    this.#sub.on('message', (_channel: string, text: string) => this.#message(text))
    this.#client.connect().catch((err) => this.#failed(err))
    this.#sub.connect().then(
      () => this.#sub.subscribe(this.#channel),
      (err) => this.#failed(err),
    )
  }

  get connected(): boolean {
    return this.#connected
  }

  /** The record and its remaining TTL, or undefined (absent, Redis slow or down). */
  async get(key: string): Promise<{ record: Buffer; ttlMs: number } | undefined> {
    if (!this.#connected) return undefined
    try {
      const results = await this.#bounded(
        this.#client.pipeline().getBuffer(this.#entry(key)).pttl(this.#entry(key)).exec(),
        this.#opts.operationTimeoutMs,
      )
      const record = results?.[0]?.[1] as Buffer | null
      const ttl = results?.[1]?.[1] as number
      if (!record || record.length === 0) return undefined
      return { record, ttlMs: Math.max(0, ttl) }
    } catch (err) {
      this.#failed(err)
      return undefined
    }
  }

  /** Stores in the background; a failure is counted, never reported to the request. */
  set(key: string, record: Buffer, ttlMs: number, provider: string, model: string): void {
    if (!this.#connected) return
    const ttl = Math.max(1, Math.round(ttlMs))
    const p = this.#opts.prefix
    const op = this.#client
      .pipeline()
      .set(this.#entry(key), record, 'PX', ttl)
      .sadd(`${p}rcp:${provider}`, key)
      .pexpire(`${p}rcp:${provider}`, ttl)
      .sadd(`${p}rcm:${model}`, key)
      .pexpire(`${p}rcm:${model}`, ttl)
      .exec()
    this.#bounded(op, this.#opts.operationTimeoutMs).catch((err) => this.#failed(err))
  }

  /** Drops the scope's entries from Redis and tells the other instances; returns entries deleted. */
  async invalidate(scope: InvalidationScope): Promise<number> {
    const keys = await this.#bounded(this.#keysIn(scope), ADMIN_TIMEOUT_MS)
    const p = this.#opts.prefix
    let deleted = 0
    for (let i = 0; i < keys.entries.length; i += 500) {
      const batch = keys.entries.slice(i, i + 500).map((k) => `${p}rc:${k}`)
      deleted += await this.#client.unlink(...batch)
    }
    if (keys.indexes.length > 0) await this.#client.unlink(...keys.indexes)
    const epoch = await this.#client.incr(`${p}epoch`)
    this.#epoch = epoch
    await this.#client.publish(this.#channel, JSON.stringify({ origin: this.#opts.instanceId, epoch, scope }))
    return deleted
  }

  status(): RedisStatus {
    let degraded: string | null = null
    if (!this.#connected) degraded = 'redis unreachable: serving from the in-process cache and the providers'
    else if (!this.#subscribed)
      degraded = "redis invalidation channel not subscribed: other instances' invalidations may be missed"
    else if (this.#opts.clock.now() - this.#lastFailureAt < RECENT_MS) {
      degraded = `redis operations failing or slower than ${this.#opts.operationTimeoutMs} ms in the last ${RECENT_MS / 1000} s`
    }
    return {
      configured: true,
      connected: this.#connected,
      last_error: this.#lastError,
      failures: this.#failures,
      timeouts: this.#timeouts,
      degraded,
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#client.disconnect()
    this.#sub.disconnect()
  }

  #entry(key: string): string {
    return `${this.#opts.prefix}rc:${key}`
  }

  async #keysIn(scope: InvalidationScope): Promise<{ entries: string[]; indexes: string[] }> {
    const p = this.#opts.prefix
    if (scope.kind === 'provider') {
      const index = `${p}rcp:${scope.provider}`
      return { entries: await this.#client.smembers(index), indexes: [index] }
    }
    if (scope.kind === 'all') {
      const entries = (await this.#scan(`${p}rc:*`)).map((k) => k.slice(p.length + 3))
      return { entries, indexes: [...(await this.#scan(`${p}rcp:*`)), ...(await this.#scan(`${p}rcm:*`))] }
    }
    const glob = compileGlob(scope.pattern)
    const entries = new Set<string>()
    const indexes: string[] = []
    for (const index of await this.#scan(`${p}rcm:*`)) {
      if (!glob.test(index.slice(p.length + 4))) continue
      indexes.push(index)
      for (const k of await this.#client.smembers(index)) entries.add(k)
    }
    for (const k of await this.#scan(`${p}rc:*`)) {
      const key = k.slice(p.length + 3)
      if (glob.test(key)) entries.add(key)
    }
    return { entries: [...entries], indexes }
  }

  async #scan(match: string): Promise<string[]> {
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, keys] = await this.#client.scan(cursor, 'MATCH', match, 'COUNT', 1000)
      cursor = next
      found.push(...keys)
    } while (cursor !== '0')
    return found
  }

  #message(text: string): void {
    let message: { origin?: string; epoch?: number; scope?: InvalidationScope }
    try {
      message = JSON.parse(text)
    } catch {
      return
    }
    if (typeof message.epoch === 'number') this.#epoch = Math.max(this.#epoch ?? 0, message.epoch)
    if (message.origin === this.#opts.instanceId || !message.scope) return
    this.#opts.onRemote(message.scope)
  }

  /** On (re)connection: if the epoch moved while we were away, our in-process entries may be stale. */
  async #checkEpoch(): Promise<void> {
    try {
      const epoch = Number((await this.#client.get(`${this.#opts.prefix}epoch`)) ?? 0)
      if (this.#epoch !== undefined && epoch !== this.#epoch) this.#opts.onResync()
      this.#epoch = epoch
    } catch (err) {
      this.#failed(err)
    }
  }

  #bounded<T>(op: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(`redis operation over ${ms} ms`)), ms)
    })
    return Promise.race([op, timeout]).finally(() => clearTimeout(timer))
  }

  #failed(err: unknown): void {
    if (this.#closed) return
    this.#failures++
    if (err instanceof Timeout) this.#timeouts++
    this.#lastError = (err as Error)?.message ?? String(err)
    this.#lastFailureAt = this.#opts.clock.now()
  }
}
