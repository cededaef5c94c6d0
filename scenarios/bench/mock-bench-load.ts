/**
 * Child process of mock-bench.ts: one autocannon run, printed as a JSON line.
 * usage: node mock-bench-load.ts <url> <connections> <seconds> <json-body> [vary]
 * With `vary`, every request gets a distinct body (a counter appended to the last message), so the
 * mock's caches of parsed bodies, token counts and answers never hit: its worst case.
 */
import autocannon from 'autocannon'

const [url, connections, seconds, body, mode] = process.argv.slice(2)

let counter = 0
/** The body with ` #<n>` appended inside the last JSON string of the last message. */
function distinctBody(): string {
  const cut = body.lastIndexOf('"}]')
  return `${body.slice(0, cut)} #${++counter}${body.slice(cut)}`
}

const result = await autocannon({
  url,
  method: 'POST',
  connections: Number(connections),
  duration: Number(seconds),
  headers: { 'content-type': 'application/json' },
  body,
  ...(mode === 'vary'
    ? {
        requests: [
          {
            method: 'POST' as const,
            setupRequest: (request: autocannon.Request) => ({ ...request, body: distinctBody() }),
          },
        ],
      }
    : {}),
})
console.log(
  JSON.stringify({
    rps: result.requests.average,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    bytesPerResponse: result.requests.total > 0 ? result.throughput.total / result.requests.total : 0,
  }),
)
