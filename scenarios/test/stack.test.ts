// The stack a run boots: mocks and a proxy on free ports, the proxy started with its own node options
// and, for an experiment (load:ci --proxy-node-flags), more after them, which node lets win.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PROXY_NODE_FLAGS } from '../../proxy/src/node-flags.ts'
import { ProcessGroup } from '../run/processes.ts'
import { bootStack, proxyEnvOf, type Stack } from '../run/stack.ts'

describe('the stack of a run', () => {
  let group: ProcessGroup | undefined
  let stack: Stack | undefined
  let dir: string | undefined
  afterEach(async () => {
    await group?.stopAll()
    stack?.cleanup()
    if (dir) rmSync(dir, { recursive: true, force: true })
    group = stack = dir = undefined
  })

  it("starts the proxy with an experiment's node options after its own, and it answers", async () => {
    dir = mkdtempSync(join(tmpdir(), 'stack-'))
    group = new ProcessGroup()
    stack = await bootStack({
      group,
      runDir: dir,
      mockProfile: 'baseline',
      seed: 42,
      proxyNodeFlags: ['--no-turbofan', '--no-maglev'],
    })
    const proxy = stack.processes.find((p) => p.name === 'proxy')
    expect(proxy).toBeDefined()
    const argv = readFileSync(`/proc/${proxy?.pid}/cmdline`, 'utf8').split('\0')
    const own = argv.indexOf(PROXY_NODE_FLAGS[PROXY_NODE_FLAGS.length - 1])
    expect(own).toBeGreaterThan(0)
    expect(argv.slice(own + 1, own + 3)).toEqual(['--no-turbofan', '--no-maglev'])
    const answer = await fetch(`${stack.targetUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('server-timing')).toMatch(/proxy;dur=[\d.]+/)
  }, 30_000)

  it("records the proxy's settings it takes from the caller's environment, never a secret's value", () => {
    expect(
      proxyEnvOf({
        REDIS_URL: 'redis://:hunter2@127.0.0.1:6379',
        PROXY_API_KEYS: 'sk-live-1,sk-live-2',
        LOG_LEVEL: 'debug',
        APP_ENV: 'staging',
        CACHE_TTL: '',
        PATH: '/usr/bin',
      }),
    ).toEqual({ REDIS_URL: '(set)', PROXY_API_KEYS: '(set)', LOG_LEVEL: 'debug' })
    expect(proxyEnvOf({ PATH: '/usr/bin' })).toEqual({})
  })
})
