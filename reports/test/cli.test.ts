import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { main } from '../src/cli.ts'
import { passedSummary } from './fixtures.ts'

const CLI = new URL('../src/cli.ts', import.meta.url).pathname

describe('report CLI', () => {
  let dir: string
  let out: string[]
  let err: string[]
  const io = { stdout: (line: string) => out.push(line), stderr: (line: string) => err.push(line) }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-cli-'))
    out = []
    err = []
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('writes report.html beside the summary and prints its path', async () => {
    const input = join(dir, 'summary.json')
    await writeFile(input, JSON.stringify(passedSummary()))
    expect(await main([input], io)).toBe(0)
    expect(out).toEqual([join(dir, 'report.html')])
    expect(await readFile(join(dir, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/)
  })

  it('writes where -o says', async () => {
    const input = join(dir, 'summary.json')
    await writeFile(input, JSON.stringify(passedSummary()))
    expect(await main([input, '-o', join(dir, 'custom.html')], io)).toBe(0)
    expect(await readFile(join(dir, 'custom.html'), 'utf8')).toContain('Load report: light tier')
  })

  it('exits 1 on an invalid summary, naming each violation', async () => {
    const input = join(dir, 'summary.json')
    const summary = passedSummary()
    await writeFile(input, JSON.stringify({ ...summary, status: 'ok', run: { ...summary.run, seed: 1.5 } }))
    expect(await main([input], io)).toBe(1)
    expect(err.join('\n')).toMatch(/status: [\s\S]*run\.seed: /)
  })

  it('exits 1 on a summary of a newer schema, saying so', async () => {
    const input = join(dir, 'summary.json')
    await writeFile(input, JSON.stringify({ ...passedSummary(), schema_version: 9 }))
    expect(await main([input], io)).toBe(1)
    expect(err.join('\n')).toMatch(
      /schema_version: schema version 9 is not one this reader knows \(1, 2, 3\): .*newer harness/,
    )
  })

  it('exits 1 when the file cannot be read', async () => {
    expect(await main([join(dir, 'absent.json')], io)).toBe(1)
    expect(err.join('\n')).toContain('ENOENT')
  })

  it('exits 2 with the usage on bad arguments', async () => {
    expect(await main([], io)).toBe(2)
    expect(await main(['a.json', '--colour'], io)).toBe(2)
    expect(err.join('\n')).toContain('usage: npm run report')
  })

  it('runs as a script', async () => {
    const input = join(dir, 'summary.json')
    await writeFile(input, JSON.stringify(passedSummary()))
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, input])
    expect(stdout.trim()).toBe(join(dir, 'report.html'))
  })
})
