// Toxiproxy between the proxy and each mock: the server is the one `npm run toxiproxy:build` built
// from its Go module, started by the runner on a free loopback port, and driven over its HTTP API:
// one proxy (link) per mock provider, toxics added and removed as phases begin and end.
import { join } from 'node:path'
import { ensureToxiproxy } from '../engines/toxiproxy-build.ts'
import type { ManagedProcess, ProcessGroup } from '../run/processes.ts'
import { callJson } from './http-json.ts'
import { freePort } from './ports.ts'
import type { ToxicType } from './schema.ts'

export type Toxic = {
  readonly name: string
  readonly type: ToxicType
  readonly stream: 'downstream' | 'upstream'
  readonly toxicity: number
  readonly attributes: Readonly<Record<string, number>>
}

export class Toxiproxy {
  readonly api: string
  readonly process: ManagedProcess

  constructor(api: string, process: ManagedProcess) {
    this.api = api
    this.process = process
  }

  /** Starts toxiproxy-server (building it first if needed) and waits for its API. */
  static async start(group: ProcessGroup, runDir: string): Promise<Toxiproxy> {
    const { server } = await ensureToxiproxy()
    const port = await freePort()
    const proc = group.start('toxiproxy', server, ['-host', '127.0.0.1', '-port', String(port)], {
      logFile: join(runDir, 'toxiproxy.log'),
    })
    const toxiproxy = new Toxiproxy(`http://127.0.0.1:${port}`, proc)
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        await toxiproxy.#call('GET', '/version')
        return toxiproxy
      } catch (error) {
        if (Date.now() > deadline || proc.child.exitCode !== null)
          throw new Error(`toxiproxy did not answer on ${toxiproxy.api}: ${(error as Error).message}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  /** A link listening on a free loopback port to `upstream` (host:port); returns its URL origin. */
  async link(name: string, upstream: string): Promise<string> {
    const created = (await this.#call('POST', '/proxies', {
      name,
      listen: '127.0.0.1:0',
      upstream,
      enabled: true,
    })) as { listen: string }
    return `http://${created.listen}`
  }

  async addToxic(link: string, toxic: Toxic): Promise<void> {
    await this.#call('POST', `/proxies/${link}/toxics`, toxic)
  }

  async removeToxic(link: string, name: string): Promise<void> {
    await this.#call('DELETE', `/proxies/${link}/toxics/${name}`)
  }

  /** Disabled: connections refused and open ones closed; enabled again: back to normal. */
  async setEnabled(link: string, enabled: boolean): Promise<void> {
    await this.#call('POST', `/proxies/${link}`, { enabled })
  }

  #call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    return callJson(`${this.api}${path}`, method, body)
  }
}
