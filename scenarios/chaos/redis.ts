// The Redis of a chaos run's shared cache tier: Debian's redis-server on a free loopback port,
// nothing persisted, started and stopped by the runner (a fault stops it and starts it again on the
// same port, or pauses it with SIGSTOP so connections stay open and nothing answers).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { missingTool } from '../../ci/setup-hint.ts'
import type { ManagedProcess, ProcessGroup } from '../run/processes.ts'
import { freePort } from './ports.ts'

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server'

export function redisAvailable(): boolean {
  const res = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' })
  return !res.error && res.status === 0
}

export class RedisServer {
  readonly url: string
  readonly #group: ProcessGroup
  readonly #port: number
  readonly #logFile: string
  readonly #dir: string
  #process: ManagedProcess | null = null

  private constructor(group: ProcessGroup, port: number, logFile: string) {
    this.#group = group
    this.#port = port
    this.#logFile = logFile
    this.#dir = mkdtempSync(join(tmpdir(), 'chaos-redis-'))
    this.url = `redis://127.0.0.1:${port}`
  }

  static async start(group: ProcessGroup, runDir: string): Promise<RedisServer> {
    if (!redisAvailable()) throw new Error(missingTool(`${REDIS_SERVER}`, "Debian's redis-server"))
    const redis = new RedisServer(group, await freePort(), join(runDir, 'redis.log'))
    await redis.up()
    return redis
  }

  get process(): ManagedProcess | null {
    return this.#process
  }

  /** Starts redis-server on its port and waits until it accepts connections. */
  async up(): Promise<void> {
    const args = ['--port', String(this.#port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
    const proc = this.#group.start('redis', REDIS_SERVER, [...args, '--dir', this.#dir], {
      logFile: this.#logFile,
    })
    this.#process = proc
    await proc.waitFor((line) => (/Ready to accept connections/.test(line) ? true : undefined), 10_000)
  }

  /** Stops it (SIGTERM, as an operator or an orchestrator would). */
  async down(): Promise<void> {
    await this.#process?.stop(5000)
    this.#process = null
  }

  pause(): void {
    if (this.#process) process.kill(this.#process.pid, 'SIGSTOP')
  }

  resume(): void {
    if (this.#process) process.kill(this.#process.pid, 'SIGCONT')
  }

  cleanup(): void {
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
