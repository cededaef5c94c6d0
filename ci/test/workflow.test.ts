// The GitHub Actions workflow users copy is linted by actionlint (built by `npm run setup`), so a
// typo in an expression or an unknown input fails here instead of on the user's first push.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ACTIONLINT, goToolPath } from '../../scenarios/engines/go-tools.ts'
import { missingTool } from '../setup-hint.ts'

const workflows = join(import.meta.dirname, '..', 'workflows')

describe('ci/workflows', () => {
  const lint = (file: string) => {
    const bins = goToolPath(ACTIONLINT)
    if (!bins) throw new Error(missingTool(`actionlint ${ACTIONLINT.version}`, 'it from its Go module'))
    return spawnSync(bins.actionlint as string, ['-no-color', file], { encoding: 'utf8' })
  }

  it.each(readdirSync(workflows).filter((f) => f.endsWith('.yml')))('%s passes actionlint', (file) => {
    const res = lint(join(workflows, file))
    expect(res.stdout + res.stderr).toBe('')
    expect(res.status).toBe(0)
  })

  it('actionlint reports a broken workflow (the check can fail)', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const dir = await mkdtemp(join(tmpdir(), 'actionlint-'))
    const file = join(dir, 'broken.yml')
    await writeFile(
      file,
      [
        'on: push',
        'jobs:',
        '  a:',
        '    runs-on: ubuntu-latest',
        '    steps:',
        `      - run: echo $${'{{'} matrix.nope }}`,
        '',
      ].join('\n'),
    )
    const res = lint(file)
    expect(res.status).not.toBe(0)
    expect(res.stdout).toContain('matrix')
  })
})
