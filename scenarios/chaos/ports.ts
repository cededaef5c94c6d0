// A free loopback port for a server that cannot listen on port 0 and say where it went (toxiproxy's
// API, redis-server). The port is free when asked; a rival may take it before the server binds it,
// which shows as a start-up failure, not as a silent clash.
import { createServer } from 'node:net'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
