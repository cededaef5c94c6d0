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
