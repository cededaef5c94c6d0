import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { missingTool } from '../../ci/setup-hint.ts'

// Redis for the tests of the shared cache tier, in this order: REDIS_URL (a shared server, e.g.
// the one .ci/run starts), a redis-server process of our own (Debian's package), a container
// through testcontainers when a container runtime answers. `none` says why there is none.

export interface TestRedis {
  readonly url: string
  readonly how: 'REDIS_URL' | 'redis-server' | 'testcontainers'
  /** Kills the server abruptly (own process or container only). */
  kill?: () => Promise<void>
  stop(): Promise<void>
}

const hasRedisServer = () => spawnSync('redis-server', ['--version']).status === 0

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Starts redis-server on `port` (a free one by default) and resolves once it accepts connections. */
export async function startRedisServer(
  port?: number,
): Promise<TestRedis & { port: number; child: ChildProcess }> {
  const p = port ?? (await freePort())
  const dir = mkdtempSync(`${tmpdir()}/redis-test-`)
  const child = spawn(
    'redis-server',
    // DEBUG SLEEP (a slow Redis) is allowed from loopback only.
    [
      '--port',
      String(p),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--enable-debug-command',
      'local',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000)
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited (${code}):\n${output}`))
    })
  })
  child.stdout!.resume()
  child.stderr!.resume()
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGKILL')
    await once(child, 'exit')
  }
  return { url: `redis://127.0.0.1:${p}`, how: 'redis-server', port: p, child, kill: stop, stop }
}

async function startContainer(): Promise<TestRedis | string> {
  const tc = await import('testcontainers')
  try {
    await tc.getContainerRuntimeClient()
  } catch (err) {
    return `no container runtime (${(err as Error).message.split('\n')[0]})`
  }
  const container = await new tc.GenericContainer('redis:7-alpine').withExposedPorts(6379).start()
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`
  const stop = async () => {
    await container.stop({ timeout: 0 })
  }
  return { url, how: 'testcontainers', kill: stop, stop }
}

/**
 * A Redis for a test: `shared` accepts REDIS_URL (tests then use their own key prefix); a test
 * that kills Redis asks for one of its own. A string is the reason there is none.
 */
export async function testRedis(options: { own: boolean }): Promise<TestRedis | string> {
  const env = process.env.REDIS_URL
  if (!options.own && env) return { url: env, how: 'REDIS_URL', stop: async () => {} }
  if (hasRedisServer()) return startRedisServer()
  const container = await startContainer()
  if (typeof container !== 'string') return container
  return `no REDIS_URL${options.own ? ' usable (this test kills its Redis)' : ''}, ${container}; ${missingTool('redis-server', "Debian's redis-server")}`
}
