import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import { ProxyError } from '../errors.ts'
import { MAX_CONTAINERS, MAX_DEPTH, membersOf, repeatedKey, scanJson } from './json-shape.ts'
import { continueWhenRead } from './unread-body.ts'

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
      // The shape is read before the body is parsed: parsing JSON nested millions deep, or
      // millions of empty objects, holds the thread that serves everyone for up to a second.
      const shape = scanJson(body, MAX_DEPTH, MAX_CONTAINERS)
      if (typeof shape === 'string') {
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
      // A key named twice in one object: JSON.parse keeps the last, a provider may read the first
      // (RFC 8259 leaves it open), and the bytes are forwarded as they came: the provider would
      // answer another request than the one validated, routed and cached.
      if (membersOf(parsed) !== shape) {
        done(new ProxyError('invalid_json', { message: twiceNamed(repeatedKey(body)) }), undefined)
        return
      }
      done(null, parsed)
    },
  )
}

/** The refusal of a body that names `key` twice in one object (a long key is cut). */
function twiceNamed(key: string | undefined): string {
  const named =
    key === undefined
      ? 'a key'
      : `the key ${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key)}`
  return `The request body names ${named} twice in one object: send each key once.`
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
