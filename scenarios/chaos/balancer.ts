// A small layer-4 load balancer in front of several proxy instances, as a Kubernetes Service or a
// cloud TCP balancer behaves: each new client connection goes to the next instance in rotation whose
// GET /health answers 200 (probed every `probeMs`), and stays piped to that instance until one side
// closes it. An instance that starts draining (503) gets no new connection; the ones it already has
// stay with it: that is exactly what a rolling restart must cope with.
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { request } from 'undici'

type Backend = { readonly name: string; readonly host: string; readonly port: number; healthy: boolean }

export class Balancer {
  readonly #backends = new Map<string, Backend>()
  readonly #sockets = new Set<Socket>()
  #server: Server | null = null
  #timer: NodeJS.Timeout | null = null
  #next = 0
  url = ''

  async start(probeMs = 250): Promise<string> {
    const server = createServer((client) => this.#route(client))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.#server = server
    const address = server.address()
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    this.#timer = setInterval(() => void this.probe(), probeMs)
    return this.url
  }

  /** Adds an instance (healthy at once: the caller waited for its health). */
  add(name: string, url: string): void {
    const { hostname, port } = new URL(url)
    this.#backends.set(name, { name, host: hostname, port: Number(port), healthy: true })
  }

  remove(name: string): void {
    this.#backends.delete(name)
  }

  /** Instances taking new connections. */
  healthy(): string[] {
    return [...this.#backends.values()].filter((b) => b.healthy).map((b) => b.name)
  }

  async probe(): Promise<void> {
    await Promise.all(
      [...this.#backends.values()].map(async (b) => {
        try {
          const res = await request(`http://${b.host}:${b.port}/health`, {
            headersTimeout: 1000,
            bodyTimeout: 1000,
            reset: true,
          })
          await res.body.dump()
          b.healthy = res.statusCode === 200
        } catch {
          b.healthy = false
        }
      }),
    )
  }

  #route(client: Socket): void {
    const live = [...this.#backends.values()].filter((b) => b.healthy)
    if (live.length === 0) {
      client.destroy()
      return
    }
    const backend = live[this.#next++ % live.length]
    const upstream = createConnection({ host: backend.host, port: backend.port })
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    }
    client.pipe(upstream)
    upstream.pipe(client)
    // A reset on one side is a reset on the other: the client sees what the instance did.
    client.once('error', () => upstream.resetAndDestroy())
    upstream.once('error', () => client.resetAndDestroy())
    client.once('close', () => upstream.destroySoon())
    upstream.once('close', () => client.destroySoon())
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()))
  }
}
