import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { ProcessGroup } from '../../scenarios/run/processes.ts'
import { startProxyProcess } from '../../scenarios/run/stack.ts'
import { COMPILE_CACHE_DIR, PROXY_NODE_FLAGS } from '../src/node-flags.ts'

// The V8 options the proxy ships with (a bounded young generation: proxy/src/node-flags.ts) reach
// the process whichever way it is started: npm start, the container image, the Kubernetes fleet
// and the load runner, so that what the benchmarks measure is what users run. So does node's
// compile cache, which spares a started proxy the TypeScript stripper.

const root = join(import.meta.dirname, '..', '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

/** A proxy's configuration in `dir`: one provider nobody listens on, which no test calls. */
function writeConfig(dir: string): string {
  const file = join(dir, 'config.yaml')
  writeFileSync(
    file,
    stringify({
      server: { host: '127.0.0.1', port: 0 },
      providers: [{ name: 'p', wire: 'openai', base_url: 'http://127.0.0.1:9/v1' }],
      models: { m: { deployments: [{ provider: 'p' }] } },
      caching: { enabled: false },
    }),
  )
  return file
}

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
      expect(start.split(' ').slice(1, 4)).toEqual(['node', flag, 'proxy/src/server.ts'])
      expect(JSON.parse(cmd.slice(4)).slice(0, 3)).toEqual(['node', flag, 'proxy/src/server.ts'])
      expect(k8s).toContain(`command: [node, ${flag}, proxy/src/server.ts,`)
    }
    // npm start keeps a cache the environment chooses; the image fills its own at build time.
    expect(start.split(' ')[0]).toBe(`NODE_COMPILE_CACHE=\${NODE_COMPILE_CACHE-${COMPILE_CACHE_DIR}}`)
    const dockerfile = read('deploy/Dockerfile').split('\n')
    const env = dockerfile.findIndex((l) => l.startsWith('ENV ') && l.includes('NODE_COMPILE_CACHE='))
    expect(dockerfile[env]).toContain(`NODE_COMPILE_CACHE=/app/${COMPILE_CACHE_DIR}`)
    const fill = dockerfile.indexOf('RUN node proxy/src/server.ts --help > /dev/null')
    expect(fill).toBeGreaterThan(env)
    expect(fill).toBeLessThan(dockerfile.indexOf('USER node'))
  })

  it('by the load runner and chaos runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-launch-'))
    const configFile = writeConfig(dir)
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
    const environ = readFileSync(`/proc/${proxy.pid}/environ`, 'utf8').split('\0')
    expect(environ).toContain(`NODE_COMPILE_CACHE=${join(root, COMPILE_CACHE_DIR)}`)
  })

  it('with a compile cache it writes as it starts, and a second start strips no source again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-cache-'))
    const cache = join(dir, 'cache')
    const configFile = writeConfig(dir)
    const start = async (name: string) => {
      const logFile = join(dir, `${name}.log`)
      // NODE_DEBUG_NATIVE: node's account of each source it looks up in the cache, to the log.
      const env = {
        ...process.env,
        APP_ENV: 'development',
        NODE_COMPILE_CACHE: cache,
        NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
      }
      await startProxyProcess(group!, { name, configFile, logFile, env, timeoutMs: 30_000 })
      return logFile
    }
    const stripped = (logFile: string) =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => /no transpile cache for StrippedTypeScript file:.*\/proxy\/src\//.test(l))

    group = new ProcessGroup()
    const first = await start('first')
    expect(stripped(first).length).toBeGreaterThan(50)
    // On disk while the proxy runs: a proxy that is killed rather than stopped leaves it too.
    const [versionDir] = readdirSync(cache)
    expect(readdirSync(join(cache, versionDir)).length).toBeGreaterThan(stripped(first).length)
    await group.stopAll()

    group = new ProcessGroup()
    const second = await start('second')
    expect(readFileSync(second, 'utf8')).toMatch(
      /retrieving transpile cache for StrippedTypeScript .*\/proxy\/src\/server\.ts\.\.\.success/,
    )
    expect(stripped(second)).toEqual([])
  })
})
