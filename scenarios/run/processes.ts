// Child processes the runner starts (mocks, proxy): spawned with their output sent to a log file,
// watched for a line that says where they listen, and always stopped by PID: SIGTERM, then SIGKILL
// after a grace period. A ProcessGroup also kills what is left, synchronously, if the runner exits.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { createInterface } from 'node:readline'

export type Exit = { code: number | null; signal: NodeJS.Signals | null }

export type ManagedProcess = {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<Exit>
  /** True once stop() was called: an exit after that is expected. */
  readonly stopping: boolean
  /** Resolves with the first stdout line for which `match` returns a value. */
  waitFor<T>(match: (line: string) => T | undefined, timeoutMs: number): Promise<T>
  stop(graceMs?: number): Promise<Exit>
}

export type StartOptions = {
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  /** stdout and stderr are appended here. */
  readonly logFile: string
}

export class ProcessGroup {
  readonly #members = new Set<ManagedProcess>()
  /** Every process ever started by this group, running or not. */
  readonly started: { name: string; pid: number }[] = []
  readonly #onExit = () => {
    for (const member of this.#members) {
      if (member.child.exitCode === null && member.child.signalCode === null) member.child.kill('SIGKILL')
    }
  }

  constructor() {
    process.on('exit', this.#onExit)
  }

  start(name: string, command: string, args: readonly string[], options: StartOptions): ManagedProcess {
    const managed = startProcess(name, command, args, options)
    this.#members.add(managed)
    this.started.push({ name, pid: managed.pid })
    void managed.exited.then(() => this.#members.delete(managed))
    return managed
  }

  /** Stops every member, most recently started first (the proxy before the mocks it calls). */
  async stopAll(graceMs = 5000): Promise<void> {
    for (const member of [...this.#members].reverse()) await member.stop(graceMs)
    process.off('exit', this.#onExit)
  }

  get size(): number {
    return this.#members.size
  }
}

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: StartOptions,
): ManagedProcess {
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' })
  // A process group of its own: Ctrl-C in a terminal reaches the runner only, which then stops the
  // engine, the proxy and the mocks in that order (and reports the run as interrupted).
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  if (child.pid === undefined) {
    log.end()
    throw new Error(`cannot start ${name}: ${command} ${args.join(' ')}`)
  }
  const watchers = new Set<(line: string) => void>()
  const lines = createInterface({ input: child.stdout! })
  lines.on('line', (line) => {
    log.write(`${line}\n`)
    for (const watch of watchers) watch(line)
  })
  child.stderr!.on('data', (chunk: Buffer) => log.write(chunk))
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      lines.close()
      log.end()
      resolve({ code, signal })
    })
  })
  let stopping = false
  return {
    name,
    pid: child.pid,
    child,
    exited,
    get stopping() {
      return stopping
    },
    waitFor<T>(match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`${name} did not report ready within ${timeoutMs} ms`)),
          timeoutMs,
        )
        const watch = (line: string) => {
          const value = match(line)
          if (value !== undefined) finish(null, value)
        }
        const finish = (error: Error | null, value?: T) => {
          clearTimeout(timer)
          watchers.delete(watch)
          if (error) reject(error)
          else resolve(value as T)
        }
        watchers.add(watch)
        void exited.then((exit) =>
          finish(
            new Error(
              `${name} exited (${exit.signal ?? `code ${exit.code}`}) before it was ready; see ${options.logFile}`,
            ),
          ),
        )
      })
    },
    async stop(graceMs = 5000): Promise<Exit> {
      stopping = true
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const exit = await exited
      clearTimeout(timer)
      return exit
    },
  }
}
