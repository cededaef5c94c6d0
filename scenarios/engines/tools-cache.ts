// Shared helpers for the external tools built from Go modules (toxiproxy, ...): where they are cached,
// a lock so two concurrent builds do not race, and a `go install` into a directory of our choice.
// The cache lives outside the repository so a fresh clone (CI) reuses a previous build:
//   ${LLM_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-proxy-bench}
// Go's own module and build caches stay at Go's defaults (go env GOMODCACHE / GOCACHE).
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** An expected failure with a message meant for a person (no stack trace needed). */
export class ToolBuildError extends Error {
  override name = 'ToolBuildError'
}

export function toolsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LLM_BENCH_CACHE) return env.LLM_BENCH_CACHE
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'llm-proxy-bench')
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`)
}

/** `go version` output; throws a ToolBuildError with a clear message when Go is not on PATH. */
export function requireGo(): string {
  const res = spawnSync('go', ['version'], { encoding: 'utf8' })
  if (res.error || res.status !== 0) {
    const why = res.error ? res.error.message : (res.stderr || '').trim()
    throw new ToolBuildError(
      `Go is required to build this tool but \`go version\` failed (${why}).\n` +
        'Install Go >= 1.23 and put it on PATH (Debian: apt-get install golang-go; ' +
        'or add /usr/local/go/bin to PATH), then run the build again.',
    )
  }
  return res.stdout.trim()
}

/** Runs a command, its output going to our stderr; resolves with the exit status. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 2, 2] })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  })
}

/** First line of `bin args...` (stdout then stderr), or null if it cannot be run. */
export function probe(bin: string, args: string[]): string | null {
  const res = spawnSync(bin, args, { encoding: 'utf8', timeout: 15_000 })
  if (res.error || res.status !== 0) return null
  return `${res.stdout}${res.stderr}`.trim()
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function lockHolder(lockPath: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10)
    return Number.isFinite(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/**
 * Runs fn while holding an exclusive lock file (created with O_EXCL, holding our pid). A lock left by a
 * process that no longer exists is taken over; a live holder is waited for, up to timeoutMs.
 */
export async function withLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  timeoutMs = 30 * 60_000,
): Promise<T> {
  mkdirSync(dirname(lockPath), { recursive: true })
  const deadline = Date.now() + timeoutMs
  let announced = false
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx')
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = lockHolder(lockPath)
    if (holder !== null && !isAlive(holder)) {
      log(`removing stale lock ${lockPath} (pid ${holder} is gone)`)
      rmSync(lockPath, { force: true })
      continue
    }
    if (Date.now() > deadline) {
      throw new ToolBuildError(`timed out waiting for ${lockPath} (held by pid ${holder ?? '?'})`)
    }
    if (!announced) {
      log(`another build holds ${lockPath} (pid ${holder ?? '?'}); waiting for it`)
      announced = true
    }
    await sleep(500)
  }
  const release = () => {
    if (lockHolder(lockPath) === process.pid) rmSync(lockPath, { force: true })
  }
  process.once('exit', release)
  try {
    return await fn()
  } finally {
    process.removeListener('exit', release)
    release()
  }
}

export interface GoInstallOptions {
  /** Packages with their pinned version, e.g. github.com/x/y/cmd/z@v1.2.3 */
  packages: string[]
  /** Directory that receives the binaries (GOBIN). */
  gobin: string
  ldflags?: string
}

/** `go install` of pinned packages into gobin: static (CGO off), -trimpath, no workspace. */
export async function goInstall(opts: GoInstallOptions): Promise<void> {
  mkdirSync(opts.gobin, { recursive: true })
  const args = ['install', '-trimpath']
  if (opts.ldflags) args.push(`-ldflags=${opts.ldflags}`)
  args.push(...opts.packages)
  const env = { ...process.env, GOBIN: opts.gobin, CGO_ENABLED: '0', GOWORK: 'off' }
  const shown = args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')
  log(`$ GOBIN=${opts.gobin} CGO_ENABLED=0 go ${shown}`)
  const status = await run('go', args, env, opts.gobin)
  if (status !== 0) throw new ToolBuildError(`go install failed with exit status ${status}`)
}

/** Reports a failure of a CLI entry point and sets the exit code. */
export function failCli(err: unknown): void {
  if (err instanceof ToolBuildError) log(`error: ${err.message}`)
  else log(err instanceof Error ? (err.stack ?? err.message) : String(err))
  process.exitCode = 1
}
