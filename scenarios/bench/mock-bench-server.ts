/**
 * Child process of mock-bench.ts: serves either the mock (node:http adapter) or a plain node:http
 * server answering a fixed body, prints `READY <port>`, prints its CPU time on SIGUSR2, stops on SIGTERM.
 * usage: node mock-bench-server.ts mock <profile-name-or-path> | plain   (plain reads MOCK_BENCH_BODY)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startMockServer } from '../../mock-providers/src/mock-server.ts'

const [kind, profile] = process.argv.slice(2)

function ignore(): void {}

async function main(): Promise<() => Promise<void>> {
  if (kind === 'mock') {
    const mock = await startMockServer({ wire: 'openai', profile: profile ?? 'zero', port: 0 })
    console.log(`READY ${mock.port}`)
    return () => mock.close()
  }
  if (kind !== 'plain') throw new Error(`unknown server kind '${kind}'`)
  // The reference: reads the POST body like any handler must, then writes a fixed body.
  const body = Buffer.from(process.env.MOCK_BENCH_BODY ?? '{}')
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.on('data', ignore)
    req.on('end', () => {
      res.writeHead(200, headers)
      res.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  console.log(`READY ${(server.address() as AddressInfo).port}`)
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
}

// `CPU <µs>` on SIGUSR2: the orchestrator reads this process's CPU time around each load run.
process.on('SIGUSR2', () => {
  const { user, system } = process.cpuUsage()
  console.log(`CPU ${user + system}`)
})

main().then(
  (close) => {
    process.on('SIGTERM', () => {
      close().then(() => process.exit(0))
    })
  },
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
