import { connect } from 'node:net'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config/load.ts'
import type { Access, RouteAccess } from '../src/http/access.ts'
import { ADMIN_KEY, CLIENT_KEY, configFor, type Harness, startAll } from './helpers.ts'

// Access is decided on the route that matched: every registered route, reached by its plain path,
// by percent-encoded spellings of it and by an absolute-form request target, with no key, a
// client key and an admin key, meets exactly its declared access level.

interface Raw {
  status: number
  body: string
}

/** One HTTP/1.1 request written by hand, so that the request target goes out exactly as given. */
function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  body = '',
) {
  return new Promise<Raw>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const lines = [`${method} ${target} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close']
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
    if (body) lines.push('content-type: application/json', `content-length: ${Buffer.byteLength(body)}`)
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`)
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (d) => {
      data += d
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) })
    })
  })
}

/** A concrete path for a route, and a body the route refuses after the access check (400). */
function concrete(route: RouteAccess): { path: string; body: string } {
  const path = route.url.replace(':id', 'gpt-4o-mini')
  const bodies: Record<string, string> = {
    '/api/cache/warm': '{"requests":"not an array"}',
    '/v1/chat/completions': '{}',
    '/v1/context/condense': '{}',
  }
  const query: Record<string, string> = { '/debug/profile': '?seconds=-1' }
  return {
    path: path + (query[route.url] ?? ''),
    body: route.method === 'POST' ? (bodies[route.url] ?? '{}') : '',
  }
}

/**
 * Spellings of a path the router resolves to the same route: the first character of each segment
 * percent-encoded (upper and lower hex), and every character encoded.
 */
function spellings(path: string): string[] {
  const [p, q = ''] = path.split('?')
  const query = q ? `?${q}` : ''
  const out = new Set<string>([path])
  const enc = (c: string) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`
  for (let i = 0; i < p.length; i++) {
    if (p[i - 1] !== '/' || !/[a-z0-9]/i.test(p[i])) continue
    out.add(`${p.slice(0, i)}${enc(p[i]).toUpperCase()}${p.slice(i + 1)}${query}`)
    out.add(`${p.slice(0, i)}${enc(p[i])}${p.slice(i + 1)}${query}`)
  }
  out.add(`${[...p].map((c) => (c === '/' ? c : enc(c))).join('')}${query}`)
  return [...out]
}

const KEYS = { none: undefined, client: CLIENT_KEY, admin: ADMIN_KEY } as const
type Who = keyof typeof KEYS

/** What each caller gets from a route of each access level. */
const EXPECTED: Record<Access, Record<Who, 'denied401' | 'denied403' | 'served'>> = {
  public: { none: 'served', client: 'served', admin: 'served' },
  client: { none: 'denied401', client: 'served', admin: 'served' },
  admin: { none: 'denied401', client: 'denied403', admin: 'served' },
}

function outcome(res: Raw): string {
  if (res.status === 0) return 'no answer'
  if (res.status === 401) return 'denied401'
  if (res.status === 403) return 'denied403'
  return 'served'
}

describe('access control', () => {
  let h: Harness
  let port: number
  beforeAll(async () => {
    h = await startAll()
    port = Number(new URL(h.url).port)
  })
  afterAll(() => h.close())

  it('declares an access level for every route, and public ones are only health and metrics', () => {
    const table = h.app.accessTable
    expect(table.length).toBeGreaterThan(15)
    const open = table.filter((r) => r.access === 'public').map((r) => r.url)
    expect(new Set(open)).toEqual(
      new Set(['/health', '/health/detailed', '/health/providers', '/metrics', '/metrics/prometheus']),
    )
    for (const r of table.filter((r) => r.url.startsWith('/api/') || r.url.startsWith('/debug/')))
      expect(r.access, `${r.method} ${r.url}`).toBe('admin')
  })

  it('holds for every route, every spelling of its path and an absolute-form target', async () => {
    const failures: string[] = []
    for (const route of h.app.accessTable) {
      const { path, body } = concrete(route)
      const targets = [...spellings(path), `http://127.0.0.1:${port}${path}`]
      for (const target of targets) {
        for (const who of Object.keys(KEYS) as Who[]) {
          const key = KEYS[who]
          const res = await rawRequest(
            port,
            route.method,
            target,
            key ? { authorization: `Bearer ${key}` } : {},
            body,
          )
          if (res.status === 404) {
            // A spelling the router does not resolve reaches no route: nothing is served there.
            if (target === path) failures.push(`${route.method} ${target} as ${who}: 404`)
            continue
          }
          const got = outcome(res)
          const want = EXPECTED[route.access][who]
          if (got !== want) failures.push(`${route.method} ${target} as ${who}: ${res.status} (want ${want})`)
          if ((res.status === 401 || res.status === 403) && route.method !== 'HEAD') {
            const error = JSON.parse(res.body).error
            expect(['missing_api_key', 'invalid_api_key', 'admin_key_required']).toContain(error.code)
          }
        }
      }
    }
    expect(failures).toEqual([])
  })

  it('denies by default: a route registered without a level needs a client key', async () => {
    const config = loadConfig({ document: configFor(h.mocks) })
    const app = await buildApp(config, { logger: pino({ level: 'silent' }) })
    try {
      app.get('/anything/added-later', async () => ({ ok: true }))
      expect(app.accessTable.find((r) => r.url === '/anything/added-later')?.access).toBe('client')
      const none = await app.inject({ method: 'GET', url: '/anything/added-later' })
      expect(none.statusCode).toBe(401)
      const client = await app.inject({
        method: 'GET',
        url: '/anything/added-later',
        headers: { authorization: `Bearer ${CLIENT_KEY}` },
      })
      expect(client.statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })
})
