// npm run bench:profile end to end, briefly: the proxy and the barest reference profiled against
// the mock, their profiles saved and read over the measured window.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const out = mkdtempSync(join(tmpdir(), 'bench-profile-test-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

interface Summary {
  profiles: {
    name: string
    file: string
    requests: number
    busy_us_per_request: number
    components_us_per_request: Record<string, number>
  }[]
}

describe('npm run bench:profile', () => {
  it("tells where the proxy's time a request goes, beside the reference's", async () => {
    const bench = spawn(
      process.execPath,
      ['scenarios/bench/profile-bench.ts', '--seconds', '1', '--rounds', '2', '--warmup', '1', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    bench.stdout.on('data', (d) => {
      output += d
    })
    bench.stderr.on('data', (d) => {
      output += d
    })
    const [code] = await once(bench, 'exit')
    expect(code, output).toBe(0)
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary
    expect(summary.profiles.map((p) => p.name)).toEqual(['proxy (defaults)', 'node:http + undici 8 dispatch'])
    for (const p of summary.profiles) {
      expect(existsSync(p.file)).toBe(true)
      expect(p.requests).toBeGreaterThan(0)
      expect(p.busy_us_per_request).toBeGreaterThan(0)
      expect(p.components_us_per_request['npm:undici']).toBeGreaterThan(0)
    }
    const [proxy, reference] = summary.profiles
    const own = (p: Summary['profiles'][number]) =>
      Object.keys(p.components_us_per_request).filter((c) => c.startsWith('proxy/src/'))
    expect(own(proxy!)).toContain('proxy/src/pipeline/pipeline.ts')
    expect(own(reference!)).toEqual([])
    expect(output).toMatch(/\| busy \(main thread, all below\) \|/)
    expect(output).toMatch(/the proxy's functions by self time/)
  }, 90_000)
})
