import { AUTH, PROXY_ENV, startProxy } from './common.ts'
import type { PairedTarget } from './measure.ts'
import type { Service, Start } from './services.ts'

// The minimal gateways the proxy is measured against: each parses the JSON body to route by
// model, forwards it over undici and relays the answer (streams as they come). `npm run bench`
// and `npm run bench:stream` load them side by side with the proxy and compare it with the
// fastest of them in that run.

export interface Reference {
  readonly name: string
  readonly script: string
  readonly args: readonly string[]
}

/** The barest of them: node:http and undici 8 `pool.dispatch`. */
export const DISPATCH_REFERENCE: Reference = {
  name: 'node:http + undici 8 dispatch',
  script: 'scenarios/bench/passthrough-dispatch.ts',
  args: [],
}

export const REFERENCES: readonly Reference[] = [
  { name: 'fastify 5 + undici 7 request', script: 'scenarios/bench/passthrough.ts', args: ['--undici', '7'] },
  { name: 'fastify 5 + undici 8 request', script: 'scenarios/bench/passthrough.ts', args: ['--undici', '8'] },
  {
    name: 'fastify 5 + undici 8 dispatch',
    script: 'scenarios/bench/passthrough.ts',
    args: ['--client', 'dispatch'],
  },
  DISPATCH_REFERENCE,
]

const READY = /passthrough listening on (http:\/\/\S+)/

/** Starts the references (default all) in front of `upstreamUrl` (the mock's origin), on the given CPU. */
export async function startReferences(
  start: Start,
  upstreamUrl: string,
  cpu?: number,
  references: readonly Reference[] = REFERENCES,
): Promise<Target[]> {
  const targets: Target[] = []
  for (const r of references) targets.push(asTarget(r.name, await startReference(start, r, upstreamUrl, cpu)))
  return targets
}

/** Starts one reference in front of `upstreamUrl`; `nodeArgs` for node itself (a profiler's). */
export function startReference(
  start: Start,
  reference: Reference,
  upstreamUrl: string,
  cpu?: number,
  nodeArgs: readonly string[] = [],
): Promise<Service> {
  return start({
    name: reference.name,
    script: reference.script,
    nodeArgs,
    args: [...reference.args, '--upstream', `${upstreamUrl}/v1`],
    cpu,
    ready: READY,
  })
}

/** A server under test: what the paired and open-loop measurements need to load it. */
export interface Target extends PairedTarget {
  readonly name: string
  readonly url: string
  readonly headers: Record<string, string>
}

export function asTarget(name: string, service: Service, headers: Record<string, string> = {}): Target {
  return { name, url: service.url, headers, pid: service.child.pid! }
}

export const PROXY = 'proxy (defaults)'
export const EVERY_LINE = 'proxy (every request logged)'

/**
 * What `npm run bench` and `bench:stream` load side by side, all on CPU 0: every reference, the
 * proxy with its defaults (request logging on: at most logging.request_lines_per_second lines a
 * second, the other requests counted) and the proxy writing a line for every request (the limit
 * off), which shows what the limit saves at the benchmark's rates.
 */
export async function startLineUp(start: Start, mockUrl: string, config: Record<string, unknown> = {}) {
  const references = await startReferences(start, mockUrl, 0)
  const proxy = await startProxy(start, { name: PROXY, mockUrl, config, env: PROXY_ENV, cpu: 0 })
  const logging = { level: 'info', ...(config.logging as object), request_lines_per_second: 0 }
  const everyLine = await startProxy(start, {
    name: EVERY_LINE,
    mockUrl,
    config: { ...config, logging },
    env: PROXY_ENV,
    cpu: 0,
  })
  const targets = [...references, asTarget(PROXY, proxy, AUTH), asTarget(EVERY_LINE, everyLine, AUTH)]
  return { references, proxy, everyLine, targets }
}
