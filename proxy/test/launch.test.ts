import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseAllDocuments, stringify } from 'yaml'
import { ProcessGroup } from '../../scenarios/run/processes.ts'
import { startProxyProcess } from '../../scenarios/run/stack.ts'
import { COMPILE_CACHE_DIR, PROXY_NODE_FLAGS } from '../src/node-flags.ts'

// The V8 options the proxy ships with (a bounded young generation, a floor under the old
// generation's limit: proxy/src/node-flags.ts) reach the process whichever way it is started: npm
// start, the container image, the Kubernetes fleet and the load runner, so that what the
// benchmarks measure is what users run. So does node's compile cache, which spares a started
// proxy the TypeScript stripper.

const root = join(import.meta.dirname, '..', '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

/**
 * How large V8 lets the old generation of a process with a small live heap grow (MB of old space)
 * before it collects it again: a full collection leaves about 2 MB alive, then the program keeps
 * one object in 25 of those it allocates, as a server keeps a little of every request (promoted by
 * the scavenges), until the next full collection.
 */
const OLD_GENERATION_GROWTH = `
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')
const old = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size
let collectedAt = 0
let last = 0
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && collectedAt === 0) collectedAt = last
})
const kept = []
for (let i = 0; i < 30000; i++) kept.push({ id: i, name: 'item-' + i })
gc()
observer.observe({ entryTypes: ['gc'] })
for (let round = 0; round < 600 && collectedAt === 0; round++) {
  last = old()
  for (let i = 0; i < 50000; i++) {
    const o = { a: i, b: [i] }
    if (i % 25 === 0) kept.push(o)
  }
  await new Promise((r) => setImmediate(r))
}
console.log(Math.round(collectedAt / 2 ** 20))
`

function oldGenerationGrowth(flags: readonly string[]): number {
  return Number(
    execFileSync(process.execPath, [...flags, '--input-type=module', '-e', OLD_GENERATION_GROWTH], {
      encoding: 'utf8',
    }),
  )
}

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
    const deployment = parseAllDocuments(read('deploy/k8s/proxy.yaml'))
      .map((d) => d.toJS())
      .find((d) => d?.kind === 'Deployment')
    const k8s = deployment.spec.template.spec.containers[0].command as string[]
    const command = ['node', ...PROXY_NODE_FLAGS, 'proxy/src/server.ts']
    expect(start.split(' ').slice(1, command.length + 1)).toEqual(command)
    expect(JSON.parse(cmd.slice(4)).slice(0, command.length)).toEqual(command)
    expect(k8s.slice(0, command.length)).toEqual(command)
    // npm start keeps a cache the environment chooses; the image fills its own at build time.
    expect(start.split(' ')[0]).toBe(`NODE_COMPILE_CACHE=\${NODE_COMPILE_CACHE-${COMPILE_CACHE_DIR}}`)
    const dockerfile = read('deploy/Dockerfile').split('\n')
    const env = dockerfile.findIndex((l) => l.startsWith('ENV ') && l.includes('NODE_COMPILE_CACHE='))
    expect(dockerfile[env]).toContain(`NODE_COMPILE_CACHE=/app/${COMPILE_CACHE_DIR}`)
    const fill = dockerfile.indexOf('RUN node proxy/src/server.ts --help > /dev/null')
    expect(fill).toBeGreaterThan(env)
    expect(fill).toBeLessThan(dockerfile.indexOf('USER node'))
  })

  it('which let a small heap grow before V8 collects it again, instead of a full collection every second', () => {
    // V8 starts the next full collection as soon as the room under the old generation's limit is
    // smaller than the young generation; the limit follows the last collection's survivors, so a
    // small live heap was collected back to back (a proxy streaming at 1,000 streams/s: every 1-2
    // s, marking steps of up to 22 ms on its main thread). The floor under that limit stops it.
    const youngOnly = PROXY_NODE_FLAGS.filter((f) => !f.startsWith('--initial-old-space-size'))
    expect(youngOnly.length).toBeLessThan(PROXY_NODE_FLAGS.length)
    const shipped = oldGenerationGrowth(PROXY_NODE_FLAGS)
    const withoutFloor = oldGenerationGrowth(youngOnly)
    expect(withoutFloor).toBeGreaterThan(0)
    expect(shipped).toBeGreaterThanOrEqual(withoutFloor + 16)
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
    expect(argv.slice(1, PROXY_NODE_FLAGS.length + 1)).toEqual(PROXY_NODE_FLAGS)
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
