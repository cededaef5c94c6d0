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
  tokens: number
  itl: number
  seconds: number
  rounds: number
  profiles: {
    name: string
    file: string
    requests: number
    busy_us_per_request: number
    components_us_per_request: Record<string, number>
  }[]
}

/** Runs bench:profile with `args` into `dir`; its exit code, output and summary. */
async function profile(dir: string, args: string[]): Promise<{ output: string; summary: Summary }> {
  const bench = spawn(process.execPath, ['scenarios/bench/profile-bench.ts', ...args, '--out', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  bench.stdout.on('data', (d) => {
    output += d
  })
  bench.stderr.on('data', (d) => {
    output += d
  })
  const [code] = await once(bench, 'exit')
  expect(code, output).toBe(0)
  return { output, summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary }
}

describe('npm run bench:profile', () => {
  it("tells where the proxy's time a request goes, beside the reference's", async () => {
    const { output, summary } = await profile(out, ['--seconds', '1', '--rounds', '2', '--warmup', '1'])
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

  it('paces the tokens of streamed answers with --itl, as a provider generates them', async () => {
    const dir = join(out, 'paced')
    const { output, summary } = await profile(dir, [
      ...['--stream', '8', '--itl', '25', '--connections', '4'],
      ...['--seconds', '1', '--rounds', '1', '--warmup', '1', '--reference', 'none'],
    ])
    expect(summary).toMatchObject({ tokens: 8, itl: 25 })
    expect(output).toMatch(/streamed requests of 8 chunks 25 ms apart/)
    // A stream takes at least 7 gaps of 25 ms: 4 connections answer at most 4 / 0.175 s a second
    // (unpaced, the zero-latency mock answers thousands).
    const [proxy] = summary.profiles
    expect(proxy!.requests).toBeGreaterThan(0)
    expect(proxy!.requests).toBeLessThanOrEqual(Math.ceil((4 / 0.175) * summary.seconds * summary.rounds) + 4)
  }, 90_000)
})
