// `npm run setup` on machines that lack the system packages, with a scratch PATH that holds only the
// basic utilities and a recording stand-in for apt-get: what it installs, and what it says elsewhere.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const UTILITIES = ['bash', 'dirname', 'id', 'mktemp', 'rm', 'tail', 'cat', 'printf', 'touch', 'chmod']

function scratch(osId: string) {
  const dir = mkdtempSync(join(tmpdir(), 'setup-'))
  const bin = join(dir, 'bin')
  spawnSync('mkdir', [bin])
  for (const name of UTILITIES) {
    const found = ['/usr/bin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p))
    if (found) symlinkSync(found, join(bin, name))
  }
  const calls = join(dir, 'apt-calls')
  // apt-get "installs" a package by putting its command on the scratch PATH.
  writeFileSync(
    join(bin, 'apt-get'),
    `#!/bin/bash\necho "$*" >> ${calls}\nif [ "$1" = install ]; then\n` +
      `  for p in "$@"; do case "$p" in chromium) touch ${bin}/chromium;; redis-server) touch ${bin}/redis-server;; ` +
      `prometheus) touch ${bin}/promtool;; python3-venv) printf '#!/bin/sh\\nexit 0\\n' > ${bin}/python3;; esac; done; ` +
      `chmod +x ${bin}/* 2>/dev/null\nfi\n`,
  )
  chmodSync(join(bin, 'apt-get'), 0o755)
  const osRelease = join(dir, 'os-release')
  writeFileSync(osRelease, `ID=${osId}\n`)
  const run = () =>
    spawnSync('/bin/bash', [join(root, 'ci', 'setup.sh')], {
      cwd: root,
      encoding: 'utf8',
      // No Go on this PATH: the Go tools step must find its tools already built (npm run setup ran).
      env: { PATH: bin, HOME: process.env.HOME, SETUP_OS_RELEASE: osRelease },
    })
  const aptCalls = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [])
  return { run, aptCalls }
}

describe('npm run setup', () => {
  it.skipIf(process.getuid?.() !== 0)(
    'on Debian, installs each missing package with apt-get, says why, and is quiet the second time',
    () => {
      const machine = scratch('debian')
      const first = machine.run()
      expect(first.stderr).toBe('')
      expect(first.status).toBe(0)
      expect(first.stdout).toContain('installing chromium: the report tests drive a real Chromium')
      expect(first.stdout).toContain('installing redis-server: ')
      expect(first.stdout).toContain('installing prometheus: promtool checks')
      expect(first.stdout).toContain('installing python3-venv: kubernetes-validate')
      expect(machine.aptCalls()).toEqual([
        'update -qq',
        'install -y -qq --no-install-recommends chromium redis-server prometheus python3-venv',
      ])
      const second = machine.run()
      expect(second.status).toBe(0)
      expect(second.stdout.trim().split('\n')).toEqual([
        'setup: ready: npm run load:light runs the main job, npm test the tests',
      ])
      expect(machine.aptCalls()).toHaveLength(2)
    },
  )

  it('elsewhere, names the packages to install and exits 1 without installing anything', () => {
    const machine = scratch('fedora')
    const res = machine.run()
    expect(res.status).toBe(1)
    expect(res.stdout).toContain('this system is not Debian or Ubuntu')
    for (const pkg of ['chromium (chromium)', 'redis-server (redis-server)', 'prometheus (promtool)'])
      expect(res.stdout).toContain(pkg)
    expect(machine.aptCalls()).toEqual([])
  })
})
