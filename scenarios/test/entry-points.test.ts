import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// Every command of package.json a user types (npm start, npm run bench:*, load:*, chaos*, capacity,
// ...) answers --help with its usage and exit 0, and refuses an option it does not know with one
// line saying so, its usage and exit 2, before it starts anything: never a stack trace, and never
// a benchmark or a build run with the option ignored.

const root = join(import.meta.dirname, '..', '..')
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>

/** The scripts that run one of the project's own files with node: its path and the arguments after it. */
const commands = [
  ...Object.entries(scripts).flatMap(([name, line]) => {
    const words = line.split(/\s+/)
    const at = words.findIndex((w) => w.endsWith('.ts'))
    return words.includes('node') && at !== -1 ? [{ name, file: words[at], args: words.slice(at + 1) }] : []
  }),
  // Run with node as ci/README.md says, not through npm.
  ...['ci/gate-simulation.ts', 'ci/gate-experiment.ts'].map((file) => ({ name: file, file, args: [] })),
]

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

function run(file: string, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file, ...args],
      { cwd: root, timeout: 30_000, killSignal: 'SIGKILL', env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr }),
    )
  })
}

describe("package.json's commands", () => {
  it('are all found (the list below is not empty by mistake)', () => {
    const names = commands.map((c) => c.name)
    for (const name of [
      'start',
      'mock',
      'bench',
      'bench:stream',
      'load:light',
      'load:ci',
      'chaos',
      'chaos:ci',
      'capacity',
    ])
      expect(names).toContain(name)
  })

  it.concurrent.each(commands)(
    '$name answers --help with its usage, exit 0',
    { timeout: 60_000 },
    async ({ file, args }) => {
      const ran = await run(file, [...args, '--help'])
      expect(ran.stderr).toBe('')
      expect(ran.code).toBe(0)
      expect(ran.stdout).toMatch(/^usage: /i)
    },
  )

  it.concurrent.each(commands)(
    '$name refuses an unknown option with one line and its usage, exit 2',
    { timeout: 60_000 },
    async ({ file, args }) => {
      const ran = await run(file, [...args, '--no-such-option'])
      expect(ran.code).toBe(2)
      expect(ran.stderr.split('\n')[0]).toMatch(/^unknown option '--no-such-option'/i)
      expect(ran.stderr).toMatch(/usage: /i)
      expect(ran.stderr).not.toMatch(/\n\s+at /)
    },
  )
})
