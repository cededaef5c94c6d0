import Fastify from 'fastify'
import type { Pool as Pool8 } from 'undici'
import { readCommandLine } from '../run/command-line.ts'
import { GATEWAY_FLAGS, Relay } from './relay.ts'

// A reference gateway of `npm run bench`: the least a gateway can do on fastify. It parses the
// JSON body (a gateway must, to route by model), forwards it to the model's upstream over an
// undici Pool (`pool.request`) and returns the answer, a stream piped as it comes. No auth, no
// retries, no breaker, no metrics, no logs. `--undici 7` or `8` picks the client: the same 20
// lines cost about a quarter more CPU on undici 8. `--client dispatch` (undici 8) forwards the bytes
// received with `pool.dispatch` and relays the answer as it comes (relay.ts), as the node:http
// reference does: the two side by side say what fastify itself costs.

const { values } = readCommandLine({
  usage: 'node scenarios/bench/passthrough.ts [options]',
  about:
    'A reference gateway of npm run bench: fastify, the JSON body parsed, forwarded over an undici Pool.',
  flags: {
    ...GATEWAY_FLAGS,
    undici: { type: 'string', default: '8', choices: ['7', '8'], help: 'undici major' },
    client: {
      type: 'string',
      default: 'request',
      choices: ['request', 'dispatch'],
      help: "undici's API used (dispatch: undici 8)",
    },
  },
})
const { Pool } = (values.undici === '7' ? await import('undici7') : await import('undici')) as {
  Pool: typeof Pool8
}
const upstream = new URL(values.upstream)
const routes = new Map([['gpt-4o-mini', new Pool(upstream.origin, { connections: values.connections })]])
const path = `${upstream.pathname.replace(/\/$/, '')}/chat/completions`
const headers = { 'content-type': 'application/json' }

const dispatch = values.client === 'dispatch'
const app = Fastify({ logger: false })
if (dispatch) {
  // The body's bytes as received, parsed once to route by model.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body: Buffer, done) => {
    try {
      done(null, { bytes: body, model: JSON.parse(body.toString()).model })
    } catch (err) {
      done(err as Error, undefined)
    }
  })
}
app.post<{ Body: { model?: string; stream?: boolean; bytes?: Buffer } }>(
  '/v1/chat/completions',
  async (request, reply) => {
    const pool = routes.get(request.body.model ?? '')
    if (pool === undefined) return reply.code(404).send({ error: { message: 'unknown model' } })
    if (dispatch) {
      reply.hijack()
      pool.dispatch({ method: 'POST', path, headers, body: request.body.bytes }, new Relay(reply.raw))
      return reply
    }
    const res = await pool.request({ method: 'POST', path, headers, body: JSON.stringify(request.body) })
    reply.code(res.statusCode).header('content-type', res.headers['content-type'])
    if (request.body.stream === true) return reply.send(res.body)
    return reply.send(Buffer.from(await res.body.arrayBuffer()))
  },
)

const address = await app.listen({ host: '127.0.0.1', port: values.port })
console.log(`passthrough listening on ${address}`)
const stop = () =>
  app
    .close()
    .then(() => Promise.all([...routes.values()].map((pool) => pool.close())))
    .then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
