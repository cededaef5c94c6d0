import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, openSync, readFileSync, statSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import { withCompileCache } from '../../proxy/src/node-flags.ts'

/** A server in a child process, started for a benchmark and stopped by its PID. */
export interface Service {
  readonly name: string
  readonly url: string
  readonly child: ChildProcess
  stop(): Promise<void>
}

export interface ServiceOptions {
  name: string
  script: string
  /** Options for node itself, before the script. */
  nodeArgs?: readonly string[]
  args?: string[]
  env?: Record<string, string>
  /** One CPU, or a taskset list such as '0,1'. */
  cpu?: number | string
  ready: RegExp
  timeoutMs?: number
  /**
   * Where stdout and stderr go: straight into this file, as a container runtime's log file takes
   * them (the child's writes never wait for a reader), or by default a pipe this process drains.
   */
  logFile?: string
}

/** Starts a service and keeps it for the caller to stop (see runBench). */
export type Start = (options: ServiceOptions) => Promise<Service>

const hasTaskset = spawnSync('taskset', ['-V']).status === 0
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Starts `node <script> ...args`, optionally pinned to CPUs, and resolves with the first URL
 * matched by `ready` in its output.
 */
export async function startService(
  options: ServiceOptions,
  /** Told how to stop the child as soon as it is spawned, before it is ready (and the child itself). */
  onSpawn?: (stop: () => Promise<void>, child: ChildProcess) => void,
): Promise<Service> {
  const node = process.execPath
  const argv = [...(options.nodeArgs ?? []), options.script, ...(options.args ?? [])]
  const [command, args] =
    hasTaskset && options.cpu !== undefined
      ? ['taskset', ['-c', String(options.cpu), node, ...argv]]
      : [node, argv]
  // Appended to: a file that already holds another run's lines (a stale address) is read from here on.
  const logStart = options.logFile === undefined ? 0 : fileBytes(options.logFile)
  const log = options.logFile === undefined ? undefined : openSync(options.logFile, 'a')
  const child = spawn(command, args, {
    // With node's compile cache, as the proxy ships (proxy/src/node-flags.ts).
    env: withCompileCache({ ...process.env, ...options.env }, REPO_ROOT),
    stdio: log === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', log, log],
  })
  if (log !== undefined) closeSync(log)
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await once(child, 'exit')
    clearTimeout(timer)
  }
  onSpawn?.(stop, child)
  let output = ''
  let poll: NodeJS.Timeout | undefined
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} did not start in time:\n${output}`)),
        options.timeoutMs ?? 15_000,
      )
      const found = () => {
        const match = options.ready.exec(output)
        if (!match) return
        clearTimeout(timer)
        resolve(match[1])
      }
      if (options.logFile === undefined) {
        const onData = (data: Buffer) => {
          output += data.toString()
          found()
        }
        child.stdout!.on('data', onData)
        child.stderr!.on('data', onData)
      } else {
        const file = options.logFile
        poll = setInterval(() => {
          output = readFileSync(file).subarray(logStart).toString()
          found()
        }, 50)
      }
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${options.name} exited (${code}) before it was ready:\n${output}`))
      })
    })
    // Keep draining output so the child never blocks on a full pipe.
    child.stdout?.removeAllListeners('data').resume()
    child.stderr?.removeAllListeners('data').resume()
    return { name: options.name, url, child, stop }
  } catch (err) {
    await stop()
    throw err
  } finally {
    clearInterval(poll)
  }
}

/** Pins the current process to one CPU when taskset exists. */
export function pinSelf(cpu: number): boolean {
  if (!hasTaskset) return false
  return spawnSync('taskset', ['-cp', String(cpu), String(process.pid)]).status === 0
}

/** The niceness an open-model generator runs at while it sends (the highest priority). */
export const GENERATOR_NICE = -20

/**
 * Runs `work` with this process's main thread ahead of the processes it shares its CPU with (nice
 * GENERATOR_NICE, when permitted: root or CAP_SYS_NICE), then puts the thread back at its own
 * niceness. An open-model generator sharing a core with the mock otherwise waits behind the mock's
 * work for its timer and its reads: it sends in bursts and times answers late, and the latency it
 * reports is its own queueing. Resolves with what `work` returned and the niceness it ran at (the
 * thread's own when it could not be raised).
 */
export async function ahead<T>(work: () => Promise<T>): Promise<{ value: T; nice: number }> {
  const own = getPriority()
  let nice = own
  try {
    setPriority(GENERATOR_NICE)
    nice = GENERATOR_NICE
  } catch {
    // Not permitted: the send lag the generator reports says whether it kept its schedule anyway.
  }
  try {
    return { value: await work(), nice }
  } finally {
    if (nice !== own) setPriority(own)
  }
}

/** Size of a file in bytes (0 when it does not exist). */
export function fileBytes(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}
