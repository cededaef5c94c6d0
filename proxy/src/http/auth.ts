import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { ProxyError } from '../errors.ts'

/** Checks bearer keys. Keys are compared in constant time; none of them is ever logged. */
export class KeyChecker {
  readonly #clientKeys: Buffer[]
  readonly #adminKeys: Buffer[]

  constructor(clientKeys: readonly string[], adminKeys: readonly string[]) {
    this.#clientKeys = clientKeys.map((k) => Buffer.from(k))
    this.#adminKeys = adminKeys.map((k) => Buffer.from(k))
  }

  /** With no client keys configured, client routes are open (development only: see config). */
  get clientAuthEnabled(): boolean {
    return this.#clientKeys.length > 0
  }

  /** Throws a 401 unless the request carries a client or admin key. */
  checkClient(request: FastifyRequest): void {
    if (this.#clientKeys.length === 0) return
    const key = bearer(request)
    if (key === undefined) throw new ProxyError('missing_api_key')
    if (!matches(key, this.#clientKeys) && !matches(key, this.#adminKeys))
      throw new ProxyError('invalid_api_key')
  }

  /** Throws 401 without a key, 403 with a key that is not an admin key. */
  checkAdmin(request: FastifyRequest): void {
    const key = bearer(request)
    if (key === undefined) throw new ProxyError('missing_api_key')
    if (!matches(key, this.#adminKeys)) {
      throw matches(key, this.#clientKeys)
        ? new ProxyError('admin_key_required')
        : new ProxyError('invalid_api_key')
    }
  }
}

function bearer(request: FastifyRequest): Buffer | undefined {
  const header = request.headers.authorization
  if (header === undefined) {
    const apiKey = request.headers['x-api-key']
    return typeof apiKey === 'string' && apiKey !== '' ? Buffer.from(apiKey) : undefined
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match ? Buffer.from(match[1]) : Buffer.alloc(0)
}

function matches(key: Buffer, keys: readonly Buffer[]): boolean {
  let found = false
  for (const k of keys) {
    if (k.length === key.length && timingSafeEqual(k, key)) found = true
  }
  return found
}
