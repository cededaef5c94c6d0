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
  app.decorateRequest('rawBody', null)
  // JSON only: any other content type is answered 415 in the OpenAI shape.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: bodyLimitBytes },
    (request, body: Buffer, done) => {
      request.rawBody = body
      if (body.length === 0) {
        done(new ProxyError('invalid_json', { message: 'The request body is empty.' }), undefined)
        return
      }
      if (body.length > MAX_DEPTH * 2 && nestingDepth(body) > MAX_DEPTH) {
        done(
          new ProxyError('invalid_json', {
            message: `The request body is nested more than ${MAX_DEPTH} levels deep.`,
          }),
          undefined,
        )
        return
      }
      try {
        done(null, JSON.parse(body.toString('utf8')))
      } catch (err) {
        done(
          new ProxyError('invalid_json', {
            message: `The request body is not valid JSON: ${(err as Error).message}`,
          }),
          undefined,
        )
      }
    },
  )
}

/** Deeper JSON is refused before it is parsed: no client request needs it, and recursion over it could exhaust the stack. */
export const MAX_DEPTH = 128

/** The deepest nesting of objects and arrays in JSON bytes (brackets inside strings ignored). */
export function nestingDepth(json: Buffer): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json[i]
    if (inString) {
      if (c === 0x5c /* \\ */) i++
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > deepest) deepest = depth
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--
  }
  return deepest
}
