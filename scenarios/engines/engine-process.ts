// Runs an engine in a child process (worker.ts) and relays its ticks; the runner stays free to draw
// progress and sample the proxy. The child is killed, whatever happens, before this resolves.
import { type ChildProcess, fork } from 'node:child_process'
import type { EngineHooks, EnginePlan, EngineResult, FromEngine, ToEngine } from './plan.ts'

export const WORKER_PATH = new URL('./worker.ts', import.meta.url).pathname

export class EngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EngineError'
  }
}

export type EngineProcessOptions = EngineHooks & {
  /** Where the engine's stderr goes (default: kept, the tail is quoted in errors). */
  onStderr?: (text: string) => void
  /** Told the engine process's PID once it is started. */
  onSpawn?: (pid: number) => void
  /** Grace after the end of the planned run (duration + drain) before the child is killed. */
  graceS?: number
  /** Another worker speaking the same protocol (default worker.ts). */
  workerPath?: string
}

export function runEngine(plan: EnginePlan, options: EngineProcessOptions = {}): Promise<EngineResult> {
  // detached: its own process group, so a terminal's Ctrl-C reaches the runner, which stops it.
  const child = fork(options.workerPath ?? WORKER_PATH, [], {
    detached: true,
    execArgv: [],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization: 'json',
  })
  if (child.pid !== undefined) options.onSpawn?.(child.pid)
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000)
    options.onStderr?.(text)
  })
  const waitMs = plan.startAt === undefined ? 0 : Math.max(0, plan.startAt - Date.now())
  const deadlineMs = waitMs + (plan.durationS + plan.drainS + (options.graceS ?? 30)) * 1000
  return new Promise<EngineResult>((resolve, reject) => {
    let settled = false
    // Resolve or reject only once the child is gone: the caller may rely on no engine running after.
    const settle = (fn: () => void) => {
      if (settled) return
      settled = true
      clearTimeout(watchdog)
      options.signal?.removeEventListener('abort', onAbort)
      void stopChild(child).then(fn)
    }
    const watchdog = setTimeout(
      () =>
        settle(() =>
          reject(
            new EngineError(
              `the ${plan.engine} engine did not finish within ${Math.round(deadlineMs) / 1000} s`,
            ),
          ),
        ),
      deadlineMs,
    )
    const onAbort = () => {
      if (child.connected) child.send({ type: 'stop' } satisfies ToEngine)
    }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    child.on('message', (message: FromEngine) => {
      if (message.type === 'tick') options.onTick?.(message.tick)
      else if (message.type === 'done') settle(() => resolve(message.result))
      else if (message.type === 'failed')
        settle(() => reject(new EngineError(`the ${plan.engine} engine failed: ${message.message}`)))
    })
    child.on('error', (error) =>
      settle(() => reject(new EngineError(`cannot start the engine: ${error.message}`, { cause: error }))),
    )
    child.on('exit', (code, signal) =>
      settle(() =>
        reject(
          new EngineError(
            `the ${plan.engine} engine exited (${signal ?? `code ${code}`}) before its result${stderr ? `:\n${stderr.trim()}` : ''}`,
          ),
        ),
      ),
    )
    child.send({ type: 'start', plan } satisfies ToEngine)
  })
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const kill = setTimeout(() => child.kill('SIGKILL'), 2000)
  void exited.then(() => clearTimeout(kill))
  if (child.connected) child.disconnect()
  child.kill('SIGTERM')
  return exited
}
