import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'

/** A server in a child process, started for a benchmark and stopped by its PID. */
export interface Service {
  readonly name: string
  readonly url: string
  readonly child: ChildProcess
  stop(): Promise<void>
}

const hasTaskset = spawnSync('taskset', ['-V']).status === 0

/**
 * Starts `node <script> ...args`, optionally pinned to one CPU, and resolves with the first URL
 * matched by `ready` on its stdout (or stderr).
 */
export async function startService(options: {
  name: string
  script: string
  args?: string[]
  env?: Record<string, string>
  cpu?: number
  ready: RegExp
  timeoutMs?: number
}): Promise<Service> {
  const node = process.execPath
  const argv = [options.script, ...(options.args ?? [])]
  const [command, args] =
    hasTaskset && options.cpu !== undefined
      ? ['taskset', ['-c', String(options.cpu), node, ...argv]]
      : [node, argv]
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await once(child, 'exit')
    clearTimeout(timer)
  }
  let output = ''
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} did not start in time:\n${output}`)),
        options.timeoutMs ?? 15_000,
      )
      const onData = (data: Buffer) => {
        output += data.toString()
        const match = options.ready.exec(output)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${options.name} exited (${code}) before it was ready:\n${output}`))
      })
    })
    // Keep draining output so the child never blocks on a full pipe.
    child.stdout!.removeAllListeners('data').resume()
    child.stderr!.removeAllListeners('data').resume()
    return { name: options.name, url, child, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Pins the current process to one CPU when taskset exists. */
export function pinSelf(cpu: number): boolean {
  if (!hasTaskset) return false
  return spawnSync('taskset', ['-cp', String(cpu), String(process.pid)]).status === 0
}

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS)
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100
