import { parseArgs } from 'node:util'
import Fastify from 'fastify'
import { Pool } from 'undici'

// The reference gateway of `npm run bench`: the least a gateway can do. It parses the JSON body
// (a gateway must, to route by model), forwards it to one upstream over an undici Pool and
// returns the answer. No auth, no routing table, no retries, no breaker, no metrics, no logs.

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    port: { type: 'string', default: '0' },
    connections: { type: 'string', default: '100' },
  },
})
const upstream = new URL(values.upstream ?? 'http://127.0.0.1:8101/v1')
const pool = new Pool(upstream.origin, { connections: Number(values.connections) })
const path = `${upstream.pathname.replace(/\/$/, '')}/chat/completions`
const headers = { 'content-type': 'application/json' }

const app = Fastify({ logger: false })
app.post('/v1/chat/completions', async (request, reply) => {
  const res = await pool.request({ method: 'POST', path, headers, body: JSON.stringify(request.body) })
  const body = Buffer.from(await res.body.arrayBuffer())
  return reply.code(res.statusCode).header('content-type', 'application/json').send(body)
})

const address = await app.listen({ host: '127.0.0.1', port: Number(values.port) })
console.log(`passthrough listening on ${address}`)
const stop = () =>
  app
    .close()
    .then(() => pool.close())
    .then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
