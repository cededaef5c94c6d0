import { ProxyError } from '../errors.ts'
import type { ProviderRegistry, Route } from './registry.ts'
import type { ChatRequest, Json } from './types.ts'

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function'])

function invalid(param: string, message: string): ProxyError {
  return new ProxyError('invalid_request', { param, message })
}

function checkNumber(
  body: Record<string, Json>,
  key: string,
  min: number,
  max: number,
  integer = false,
): void {
  const value = body[key]
  if (value === undefined || value === null) return
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw invalid(key, `Invalid type for '${key}': expected ${integer ? 'an integer' : 'a number'}.`)
  }
  if (value < min || value > max)
    throw invalid(key, `Invalid '${key}': ${value} is outside [${min}, ${max}].`)
}

/**
 * Checks what the proxy relies on in an OpenAI chat request; the rest is the provider's to judge.
 * Messages are the OpenAI ones: a role, and content that is a string, an array of parts, or null
 * for an assistant turn that only calls tools.
 */
export function parseChatRequest(body: unknown, raw: Buffer): ChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProxyError('invalid_request', { message: 'The request body must be a JSON object.' })
  }
  const b = body as Record<string, Json>
  if (typeof b.model !== 'string' || b.model === '') {
    throw invalid('model', "Missing required parameter: 'model' (a string).")
  }
  if (!Array.isArray(b.messages) || b.messages.length === 0) {
    throw invalid('messages', "Missing required parameter: 'messages' (a non-empty array).")
  }
  for (let i = 0; i < b.messages.length; i++) {
    const m = b.messages[i]
    if (m === null || typeof m !== 'object' || Array.isArray(m)) {
      throw invalid(`messages[${i}]`, `Invalid type for 'messages[${i}]': expected an object.`)
    }
    if (!ROLES.has(m.role)) {
      throw invalid(
        `messages[${i}].role`,
        `Invalid value for 'messages[${i}].role': ${JSON.stringify(m.role)}.`,
      )
    }
    const c = m.content
    if (
      !(
        typeof c === 'string' ||
        Array.isArray(c) ||
        (c == null && (m.role === 'assistant' || m.role === 'tool'))
      )
    ) {
      throw invalid(
        `messages[${i}].content`,
        `Invalid type for 'messages[${i}].content': expected a string or an array of parts.`,
      )
    }
  }
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
    throw invalid('stream', "Invalid type for 'stream': expected a boolean.")
  }
  const options = b.stream_options
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw invalid('stream_options', "Invalid type for 'stream_options': expected an object.")
  }
  checkNumber(b, 'max_tokens', 1, 10_000_000, true)
  checkNumber(b, 'max_completion_tokens', 1, 10_000_000, true)
  checkNumber(b, 'temperature', 0, 2)
  checkNumber(b, 'top_p', 0, 1)
  checkNumber(b, 'n', 1, 128, true)
  const stream = b.stream === true
  const includeUsage = stream && options?.include_usage === true
  if (raw.length >= RELEASABLE_BYTES) return new ReleasableChatRequest(b, raw, stream, includeUsage)
  return { body: b, raw, stream, includeUsage }
}

/**
 * From this size on, a chat request's parsed body is let go once the request is on its way to the
 * provider (releaseBody). A conversation parsed is many objects and strings on the heap, alive as
 * long as the request is: every young-generation collection meanwhile copies them, and a stream
 * keeps them for as long as the answer takes (at 32 KB, a third of the memory an open stream
 * costs). Its bytes, which are forwarded, stay outside the heap. Smaller bodies are kept: there
 * is little to save, and the plain object is the cheapest to read.
 */
const RELEASABLE_BYTES = 2048

/** A chat request whose parsed body can be let go, and is read again from its bytes if asked for. */
class ReleasableChatRequest implements ChatRequest {
  readonly raw: Buffer
  readonly stream: boolean
  readonly includeUsage: boolean
  #body: Record<string, Json> | undefined

  constructor(body: Record<string, Json>, raw: Buffer, stream: boolean, includeUsage: boolean) {
    this.#body = body
    this.raw = raw
    this.stream = stream
    this.includeUsage = includeUsage
  }

  /**
   * The parsed body; after a release (a retry on another deployment, a condensation after the
   * provider's context-length error), parsed again from the same bytes: the same value, since
   * bodies are validated as sent, nothing coerced or defaulted.
   */
  get body(): Record<string, Json> {
    this.#body ??= JSON.parse(this.raw.toString('utf8')) as Record<string, Json>
    return this.#body
  }

  release(): void {
    this.#body = undefined
  }
}

/**
 * Lets go of a request's parsed body (a large one: RELEASABLE_BYTES) once the request is on its
 * way: what the proxy reads of it later, it reads again from the bytes.
 */
export function releaseBody(req: ChatRequest): void {
  if (req instanceof ReleasableChatRequest) req.release()
}

/** The route of the model a request names, or a 404 model_not_found in the OpenAI shape. */
export function routeFor(registry: ProviderRegistry, model: string): Route {
  const route = registry.route(model)
  if (!route) {
    throw new ProxyError('model_not_found', {
      param: 'model',
      message: `The model '${model}' does not exist or is not routed by this proxy.`,
    })
  }
  return route
}
