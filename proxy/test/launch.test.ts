import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { ProcessGroup } from '../../scenarios/run/processes.ts'
import { startProxyProcess } from '../../scenarios/run/stack.ts'
import { PROXY_NODE_FLAGS } from '../src/node-flags.ts'

// The V8 options the proxy ships with (a bounded young generation: proxy/src/node-flags.ts) reach
// the process whichever way it is started: npm start, the container image, the Kubernetes fleet
// and the load runner, so that what the benchmarks measure is what users run.

const root = join(import.meta.dirname, '..', '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

describe('the proxy is started with its V8 options', () => {
  let group: ProcessGroup | undefined
  afterEach(() => group?.stopAll())

  it('by npm start, the Dockerfile and the Kubernetes fleet', () => {
    const start = JSON.parse(read('package.json')).scripts.start as string
    const cmd = read('deploy/Dockerfile')
      .split('\n')
      .find((l) => l.startsWith('CMD '))!
    const k8s = read('deploy/k8s/proxy.yaml')
      .split('\n')
      .find((l) => l.includes('command: [node'))!
    for (const flag of PROXY_NODE_FLAGS) {
      expect(start.split(' ').slice(0, 3)).toEqual(['node', flag, 'proxy/src/server.ts'])
      expect(JSON.parse(cmd.slice(4)).slice(0, 3)).toEqual(['node', flag, 'proxy/src/server.ts'])
      expect(k8s).toContain(`command: [node, ${flag}, proxy/src/server.ts,`)
    }
  })

  it('by the load runner and chaos runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-launch-'))
    const configFile = join(dir, 'config.yaml')
    writeFileSync(
      configFile,
      stringify({
        server: { host: '127.0.0.1', port: 0 },
        providers: [{ name: 'p', wire: 'openai', base_url: 'http://127.0.0.1:9/v1' }],
        models: { m: { deployments: [{ provider: 'p' }] } },
        caching: { enabled: false },
      }),
    )
    group = new ProcessGroup()
    const { process: proxy } = await startProxyProcess(group, {
      name: 'proxy',
      configFile,
      logFile: join(dir, 'proxy.log'),
      env: { ...process.env, APP_ENV: 'development' },
      timeoutMs: 30_000,
    })
    const argv = readFileSync(`/proc/${proxy.pid}/cmdline`, 'utf8').split('\0')
    for (const flag of PROXY_NODE_FLAGS) expect(argv.indexOf(flag)).toBe(1)
  })
})
