import { isUtf8 } from 'node:buffer'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { ProxyError } from '../errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body as received, kept so it can be forwarded without serializing it again. */
    rawBody: Buffer | null
  }
}

/** JSON bodies parsed once, with the bytes kept; unreadable JSON is a 400 in the OpenAI shape. */
export function registerJsonBody(app: FastifyInstance, bodyLimitBytes: number): void {
  continueWhenRead(app)
  app.decorateRequest('rawBody', null)
  // JSON only: any other content type is answered 415 in the OpenAI shape.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: bodyLimitBytes },
    (request, body: Buffer, done) => {
      request.rawBody = body
      const unreadable = unreadableAs(request.headers['content-encoding'], request.headers['content-type'])
      if (unreadable) {
        done(new ProxyError('unsupported_media_type', { message: unreadable }), undefined)
        return
      }
      if (body.length === 0) {
        done(new ProxyError('invalid_json', { message: 'The request body is empty.' }), undefined)
        return
      }
      // Bytes that are not UTF-8 would be read as U+FFFD here and forwarded as they came: the
      // provider would read another request than the one validated, cached and counted.
      if (!isUtf8(body)) {
        done(new ProxyError('invalid_json', { message: 'The request body is not valid UTF-8.' }), undefined)
        return
      }
      // A large body's shape is read before it is parsed: parsing JSON nested millions deep, or
      // millions of empty objects, holds the thread that serves everyone for up to a second.
      const shape = body.length > SCAN_ABOVE ? shapeProblem(body, MAX_DEPTH, MAX_CONTAINERS) : undefined
      if (shape) {
        done(new ProxyError('invalid_json', { message: `The request body ${shape}.` }), undefined)
        return
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(body.toString('utf8'))
      } catch (err) {
        done(
          new ProxyError('invalid_json', {
            message: `The request body is not valid JSON: ${(err as Error).message}`,
          }),
          undefined,
        )
        return
      }
      // Each level takes two bytes: a shorter body cannot be too deep (a longer one's shape was read).
      if (body.length > MAX_DEPTH * 2 && body.length <= SCAN_ABOVE && deeperThan(parsed, MAX_DEPTH)) {
        done(
          new ProxyError('invalid_json', {
            message: `The request body is nested more than ${MAX_DEPTH} levels deep.`,
          }),
          undefined,
        )
        return
      }
      done(null, parsed)
    },
  )
}

/** A refused request's unread body larger than this closes its connection (a smaller one is read and dropped). */
export const UNREAD_BODY_LIMIT = 64 * 1024
/** How long a refused client may go on sending after its answer before its connection is cut. */
const LINGER_MS = 2000

/**
 * After a refusal sent before the request's body was read (no key, over the limit, shed), Node
 * would read the rest of the body and drop it, to keep the connection: however much a client
 * without a key chose to send. A large or chunked body instead ends the connection once the
 * answer is out: the proxy stops writing (the client reads its answer, then the end) and cuts the
 * connection when the client has not closed it within LINGER_MS. Not at once: a connection closed
 * with unread bytes is reset, and the reset can reach the client before it has read its answer.
 */
export function endAfterRefusal(raw: IncomingMessage, res: ServerResponse): void {
  if (raw.complete) return
  const length = raw.headers['content-length']
  if (
    raw.headers['transfer-encoding'] === undefined &&
    (length === undefined || Number(length) <= UNREAD_BODY_LIMIT)
  )
    return
  const socket = raw.socket
  res.once('finish', () => {
    if (socket.destroyed) return
    socket.end()
    const cut = setTimeout(() => socket.destroy(), LINGER_MS)
    cut.unref()
    socket.once('close', () => clearTimeout(cut))
  })
}

/**
 * `Expect: 100-continue` is answered when the proxy starts reading the body, that is once the
 * request has been let in (its key, its route, admission, a Content-Length within the limit). Left
 * to itself, Node says 100 Continue as the request arrives, before any check: a client without a
 * key, or with a body over the limit, is invited to send megabytes only to be refused. A request
 * refused unread never gets it (the refusal is its answer, as RFC 9110 allows).
 */
function continueWhenRead(app: FastifyInstance): void {
  const server = app.server
  server.on('checkContinue', (req, res) => {
    req.once('resume', () => {
      if (!res.headersSent && !res.writableEnded) res.writeContinue()
    })
    server.emit('request', req, res)
  })
}

/**
 * Why a JSON body cannot be read as sent, or undefined: compressed (the proxy does not inflate
 * bodies; read as they are, gzip bytes were answered "not valid JSON", and a plain body labelled
 * `br` was taken) or in a charset other than UTF-8, which JSON between systems must be (RFC 8259).
 */
export function unreadableAs(
  encoding: string | undefined,
  contentType: string | undefined,
): string | undefined {
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity' && encoding.trim() !== '')
    return `Content-Encoding ${JSON.stringify(encoding)} is not supported: send the body uncompressed.`
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]
  if (charset !== undefined && !/^utf-?8$/i.test(charset))
    return `The charset ${JSON.stringify(charset)} is not supported: send the body in UTF-8.`
  return undefined
}

/**
 * Deeper JSON is refused: no client request needs it, and code that recurses over a request (a
 * serializer, a cache key) could exhaust the stack on it. V8's JSON.parse does not recurse, but a
 * body at the size limit nested millions deep takes it a second (0.2 us a level), on the thread that
 * serves everyone. A small body's depth is read from the parsed value, whose containers are few
 * (16 KB nests at most 8,192 deep: under 2 ms to parse); a larger one's from its bytes before it is
 * parsed (shapeProblem), which costs a quarter of the parse on a 32 KB conversation and an eighth on
 * 300 KB (a chat request of those sizes, median of three timings).
 */
export const MAX_DEPTH = 128
/**
 * More arrays and objects than this in one body are refused: a chat request holds a few per
 * message, tool or content part, and 10 MB of `{},` is 3.3 million of them, 0.45 s to parse.
 */
export const MAX_CONTAINERS = 100_000
/** Bodies longer than this have their shape read before they are parsed (only clients with a key get that far). */
export const SCAN_ABOVE = 16 * 1024

const QUOTE = 0x22
const BACKSLASH = 0x5c
/** Strings shorter than this (keys, roles) are stepped over byte by byte; longer ones found natively. */
const SHORT_STRING = 32

/**
 * Why a JSON body's shape is refused (nested more than `maxDepth` deep, or more than
 * `maxContainers` arrays and objects), read from its bytes without parsing them; undefined when
 * it is not. It stops at the first level or container too many, so a hostile body costs a few
 * hundred bytes' reading. Only brackets outside strings count: a string is stepped over to its
 * closing quote, one preceded by an even number of backslashes. Bytes that are not JSON are left
 * to the parser (it stops at the first error), and valid JSON is read exactly.
 */
export function shapeProblem(buf: Buffer, maxDepth: number, maxContainers: number): string | undefined {
  const n = buf.length
  let depth = 0
  let containers = 0
  for (let i = 0; i < n; i++) {
    const c = buf[i] as number
    if (c === QUOTE) {
      i = stringEnd(buf, i + 1)
      if (i === -1) return undefined
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return `is nested more than ${maxDepth} levels deep`
      if (++containers > maxContainers) return `holds more than ${maxContainers} arrays and objects`
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return undefined
}

/** The index of the quote closing the string whose body starts at `from`, or -1. */
function stringEnd(buf: Buffer, from: number): number {
  const n = buf.length
  const stop = Math.min(from + SHORT_STRING, n)
  let j = from
  for (; j < stop; j++) {
    const d = buf[j]
    if (d === QUOTE) return j
    if (d === BACKSLASH) j++
  }
  for (j = buf.indexOf(QUOTE, j); j !== -1; j = buf.indexOf(QUOTE, j + 1)) {
    let k = j - 1
    while (buf[k] === BACKSLASH) k--
    if ((j - 1 - k) % 2 === 0) return j
  }
  return -1
}

/**
 * Whether arrays and objects nest more than `max` levels deep in a parsed JSON value (a scalar is
 * level 0). Without recursion: the containers still to visit wait on a list, with their levels.
 */
export function deeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false
  const pending: object[] = [value]
  const levels: number[] = [1]
  while (pending.length > 0) {
    const node = pending.pop() as Record<string, unknown>
    const level = levels.pop() as number
    if (level > max) return true
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child = node[i]
        if (child !== null && typeof child === 'object') {
          pending.push(child)
          levels.push(level + 1)
        }
      }
    } else {
      for (const key in node) {
        const child = node[key]
        if (child !== null && typeof child === 'object') {
          pending.push(child)
          levels.push(level + 1)
        }
      }
    }
  }
  return false
}
