import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { CHAT, call, MESSAGES } from './helpers.ts'

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
let child: ChildProcess | undefined

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL')
  child = undefined
})

/** Starts the CLI and resolves with the URLs it prints, one line per mock. */
function startCli(args: string[], env: Record<string, string> = {}): Promise<Record<string, string>> {
  child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines = createInterface({ input: child.stdout! })
  const urls: Record<string, string> = {}
  return new Promise((resolve, reject) => {
    child!.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)))
    lines.on('line', (line) => {
      const match = /^(mock-openai|mock-anthropic) listening on (http:\/\/\S+)/.exec(line)
      if (match) urls[match[1]] = match[2]
      if (Object.keys(urls).length === 2) resolve(urls)
    })
  })
}

function exitCode(): Promise<number | null> {
  return new Promise((resolve) => child!.once('exit', (code) => resolve(code)))
}

describe('npm run mock (cli.ts)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'prints where both mocks listen, serves them, and exits 0 on %s',
    async (signal) => {
      const urls = await startCli(['--openai-port', '0', '--profile', 'zero', '--seed', '5'], {
        MOCK_ANTHROPIC_PORT: '0',
      })
      expect(urls['mock-openai']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect((await call(urls['mock-openai'], '/v1/chat/completions', CHAT)).status).toBe(200)
      expect((await call(urls['mock-anthropic'], '/v1/messages', MESSAGES)).status).toBe(200)
      const exited = exitCode()
      child!.kill(signal)
      expect(await exited).toBe(0)
    },
  )

  it('exits non-zero with the problem when the profile is invalid', async () => {
    child = spawn(process.execPath, [CLI, '--profile', 'does-not-exist'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr!.on('data', (d) => {
      stderr += d
    })
    expect(await exitCode()).toBe(2)
    expect(stderr).toMatch(/does-not-exist\.yaml/)
  })
})
