import { createHash, hash } from 'node:crypto'
import type { Route } from '../providers/registry.ts'
import type { Json } from '../providers/types.ts'

/**
 * Request fields that do not change the answer, left out of the key: how it is delivered
 * (stream, stream_options: a streamed and a plain request share one entry) and bookkeeping the
 * provider does not generate from (user, metadata, store). Every other field is in the key,
 * unknown ones included: a field the proxy does not know might change the answer.
 */
const DELIVERY_ONLY = new Set(['model', 'stream', 'stream_options', 'user', 'metadata', 'store'])

/** Bump when the key or the record layout changes: old entries (in Redis too) are then never read. */
// v2: a streamed answer's record holds no chat.completion body (an older instance would answer a
// plain request from it with an empty one).
export const KEY_VERSION = 'v2'

/**
 * JSON with object keys in code-point order at every depth, no whitespace: the same request
 * always gives the same text whatever order its client wrote the fields in. Array order is kept
 * (messages, stop sequences and tools are ordered). `undefined` members are dropped, as
 * JSON.stringify does.
 */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'null' : JSON.stringify(value)
  }
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      const item = value[i]
      out += item === undefined ? 'null' : canonicalJson(item)
    }
    return `${out}]`
  }
  const keys = sortedKeys(value)
  let out = '{'
  let first = true
  for (const key of keys) {
    const item = value[key]
    if (item === undefined) continue
    if (!first) out += ','
    first = false
    out += `${JSON.stringify(key)}:${canonicalJson(item)}`
  }
  return `${out}}`
}

/** Up to this many keys are sorted by insertion, in place: Array.prototype.sort allocates its work space. */
const FEW_KEYS = 12

/**
 * An object's keys in code-point order (as Array.prototype.sort orders strings). A request's
 * objects have a few keys each, and sorting them by insertion allocates nothing: with sort, the
 * sorting of the keys of a small chat request was 2.5 KB of garbage, a tenth of what a cacheable
 * request allocates in all.
 */
export function sortedKeys(value: object): string[] {
  const keys = Object.keys(value)
  if (keys.length > FEW_KEYS) return keys.sort()
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string
    let j = i - 1
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string
      j--
    }
    keys[j + 1] = key
  }
  return keys
}

/**
 * The route as the cache sees it: the canonical model name and its deployments in order. An
 * alias shares its model's entries; a route changed in the configuration starts afresh.
 */
export function routeSignature(route: Route): string {
  let sig = route.name
  for (const d of route.deployments) sig += `|${d.provider.name}/${d.model}`
  return sig
}

/**
 * The response cache key: sha256 over the key version, the route signature and the canonical
 * form of every answer-changing field of the body (messages, temperature, top_p, max_tokens,
 * stop, seed, n, tools, tool_choice, response_format, ...). Hex, 64 characters.
 */
export function responseKey(body: Record<string, Json>, signature: string): string {
  // One string, one update: each update() is a call into native code.
  let text = `${KEY_VERSION}\0${signature}\0`
  const keys = sortedKeys(body)
  for (const key of keys) {
    // null is the API's way of saying "the default", as is leaving the field out.
    if (DELIVERY_ONLY.has(key) || body[key] == null) continue
    text += `${JSON.stringify(key)}:${canonicalJson(body[key])},`
  }
  // One-shot: a Hash object is a native object each request would leave for the collector.
  return hash('sha256', text, 'hex')
}

/** sha256 hex of a canonical value (summary cache keys). */
export function digest(...parts: Json[]): string {
  const hash = createHash('sha256')
  hash.update(KEY_VERSION)
  for (const part of parts) {
    hash.update('\0')
    hash.update(typeof part === 'string' ? part : canonicalJson(part))
  }
  return hash.digest('hex')
}
