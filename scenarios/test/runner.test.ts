// The runner end to end: boots the mock providers and the proxy as processes, runs a short tier,
// stops everything it started, and exits 0, 99, 1 or 130 with a valid summary.json.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSummary } from '../../reports/src/summary.ts'
import { type RunOptions, runTier } from '../run/runner.ts'
import { formatRunTable } from '../run/table.ts'
import { alive } from './servers.ts'

// Prompts drawn evenly from 1,000: the smoke tier's few streams are generated (MISS) whatever order
// its users' requests arrive in (a popular prompt would be a cache HIT for every stream after the first).
const TIERS = `
corpus: { size: 1000, zipf_exponent: 0 }
defaults:
  scenarios:
    - { name: chat, weight: 5 }
    - { name: chat-stream, weight: 3 }
    - { name: models, weight: 1 }
    - { name: condense, weight: 1 }
tiers:
  smoke:
    users: 10
    duration: 5s
    ramp_up: 1s
    expected_rps: 10
    latency: { percentile: 95, max_ms: 1000 }
    error_rate_max: 0.05
    think_time: { min: 0.8, max: 1.2 }
  apis:
    users: 10
    duration: 4s
    expected_rps: 10
    latency: { percentile: 95, max_ms: 2000 }
    error_rate_max: 0.05
    scenarios:
      - { name: embeddings, weight: 1 }
      - { name: messages, weight: 1 }
      - { name: responses, weight: 1 }
  stall:
    users: 100
    duration: 12s
    ramp_up: 2s
    expected_rps: 20
    latency: { percentile: 95, max_ms: 10000 }
    error_rate_max: 0.05
  impossible:
    users: 10
    duration: 3s
    expected_rps: 10
    latency: { percentile: 95, max_ms: 0.001 }
    error_rate_max: 0.05
`

describe('runner', () => {
  let dir: string
  let tiersFile: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'runner-test-'))
    tiersFile = join(dir, 'tiers.yaml')
    writeFileSync(tiersFile, TIERS)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const run = (name: string, extra: Partial<RunOptions> = {}) =>
    runTier({ tier: name, tiersFile, out: join(dir, `${name}-${Date.now()}`), progress: null, ...extra })

  it('boots mocks and proxy, runs the tier, stops everything and exits 0 with a valid summary', async () => {
    const outcome = await run('smoke')
    expect(outcome.exitCode).toBe(0)
    expect(outcome.processes.map((p) => p.name)).toEqual(['mock providers', 'proxy', 'native engine'])
    for (const p of outcome.processes) expect(alive(p.pid), `${p.name} (pid ${p.pid}) still runs`).toBe(false)
    for (const file of [
      'summary.json',
      'report.html',
      'raw.json',
      'ticks.ndjson',
      'samples.json',
      'proxy.log',
      'mock.log',
    ]) {
      expect(existsSync(join(outcome.dir, file)), file).toBe(true)
    }
    const summary = parseSummary(readFileSync(join(outcome.dir, 'summary.json'), 'utf8'))
    expect(summary).toMatchObject({
      status: 'passed',
      run: { tier: 'smoke', engine: 'native', mock_profile: 'baseline' },
    })
    expect(summary.totals.requests).toBeGreaterThanOrEqual(35)
    expect(summary.baselines.map((b) => [b.metric, b.passed])).toEqual([
      ['latency_p95_ms', true],
      ['error_rate', true],
      ['rps_after_ramp_up', true],
      ['longest_stall_ms', true],
    ])
    expect(summary.timeseries?.points.length).toBeGreaterThanOrEqual(5)
    // It says what the mocks answered like, splits streams by cache status and attributes the time.
    expect(summary.run.mock_latency).toMatchObject({ ttft_ms: 2, itl_ms: 0 })
    expect(summary.totals.stream_by_cache?.miss?.streams).toBeGreaterThan(0)
    expect(summary.totals.server_timing?.requests).toBeGreaterThan(0)
    expect(summary.totals.server_timing?.upstream_ms?.p50).toBeGreaterThan(0)
    expect(summary.totals.rps_after_ramp_up).toBeGreaterThan(0)
    const table = formatRunTable(summary)
    expect(table).toContain('! These numbers measure the proxy, not an LLM.')
    expect(table).toMatch(/proxy's own time ms \(Server-Timing\): p50 [\d.]+/)
    expect(table).toMatch(/streams, generated \(MISS\) \d+: TTFT/)
    // The proxy logged its listening line and more into proxy.log.
    expect(readFileSync(join(outcome.dir, 'proxy.log'), 'utf8')).toContain('llm proxy listening')
    expect(readFileSync(join(outcome.dir, 'report.html'), 'utf8')).toContain('<!doctype html>')
  }, 60_000)

  it.each(['native', 'autocannon'] as const)(
    '%s runs the embeddings, Messages and Responses scenarios through the proxy without an error',
    async (engine) => {
      const outcome = await run('apis', { engine })
      expect(outcome.exitCode).toBe(0)
      const summary = parseSummary(readFileSync(join(outcome.dir, 'summary.json'), 'utf8'))
      const names = summary.scenarios.map((s) => s.name).sort()
      expect(names).toEqual(['embeddings', 'messages', 'responses'])
      for (const s of summary.scenarios) {
        expect(s.requests, s.name).toBeGreaterThan(5)
        expect(s.errors, s.name).toBe(0)
      }
      // The native engine measured the streamed APIs as streams: time to first token, none cut.
      // autocannon checks each stream ended properly (errors above) but does not time its chunks.
      if (engine === 'autocannon') return
      for (const name of ['messages', 'responses']) {
        const stream = summary.scenarios.find((s) => s.name === name)?.stream
        expect(stream?.streams, name).toBeGreaterThan(0)
        expect(stream?.ttft_ms?.p50, name).toBeGreaterThan(0)
        expect(stream?.truncated, name).toBe(0)
      }
    },
    60_000,
  )

  it('exits 99 with status failed when a baseline does not hold', async () => {
    // Its proxy started with another node option (an experiment): the summary records it.
    const outcome = await run('impossible', {
      engine: 'autocannon',
      proxyNodeFlags: ['--max-old-space-size=512'],
    })
    expect(outcome.summary.run.proxy_node_flags).toEqual(['--max-old-space-size=512'])
    expect(outcome.exitCode).toBe(99)
    expect(outcome.summary.status).toBe('failed')
    expect(outcome.summary.baselines[0]).toMatchObject({ metric: 'latency_p95_ms', passed: false })
    expect(outcome.summary.status_reason).toMatch(/latency_p95_ms/)
    for (const p of outcome.processes) expect(alive(p.pid)).toBe(false)
  }, 60_000)

  it('stops everything when interrupted, and writes a broken summary (exit 130)', async () => {
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 3000)
    const outcome = await run('smoke', { signal: abort.signal })
    expect(outcome.exitCode).toBe(130)
    expect(outcome.summary.status).toBe('broken')
    expect(outcome.summary.status_reason).toMatch(/interrupted/)
    expect(outcome.processes.length).toBeGreaterThanOrEqual(2)
    for (const p of outcome.processes) expect(alive(p.pid)).toBe(false)
  }, 60_000)

  it('fails a run in which the proxy stalled, when its p95, errors and rate all pass', async () => {
    let stopped = false
    const outcome = await run('stall', {
      onStackReady: (processes) => {
        const proxy = processes.find((p) => p.name === 'proxy')!
        // Frozen for 3.5 s after the ramp-up, then on again: every answer waits, none is lost.
        setTimeout(() => {
          process.kill(proxy.pid, 'SIGSTOP')
          stopped = true
          setTimeout(() => process.kill(proxy.pid, 'SIGCONT'), 3500)
        }, 5000)
      },
    })
    expect(stopped).toBe(true)
    expect(outcome.exitCode).toBe(99)
    const byMetric = Object.fromEntries(outcome.summary.baselines.map((b) => [b.metric, b]))
    expect(byMetric.latency_p95_ms.passed).toBe(true)
    expect(byMetric.error_rate.passed).toBe(true)
    expect(byMetric.rps_after_ramp_up.passed).toBe(true)
    expect(byMetric.longest_stall_ms.passed).toBe(false)
    expect(byMetric.longest_stall_ms.actual).toBeGreaterThanOrEqual(2000)
    expect(outcome.summary.status_reason).toMatch(/^longest_stall_ms \d+ vs < 2000$/)
    for (const p of outcome.processes) expect(alive(p.pid)).toBe(false)
  }, 60_000)

  it('stops at once, broken (exit 1), when the proxy dies during the run', async () => {
    const outcome = await run('smoke', {
      onStackReady: (processes) => {
        const proxy = processes.find((p) => p.name === 'proxy')!
        setTimeout(() => process.kill(proxy.pid, 'SIGKILL'), 1500)
      },
    })
    expect(outcome.exitCode).toBe(1)
    expect(outcome.summary.status).toBe('broken')
    expect(outcome.summary.status_reason).toMatch(/^proxy \(pid \d+\) exited during the run \(SIGKILL\)/)
    expect(outcome.summary.run.duration_s).toBeLessThan(4)
    for (const p of outcome.processes) expect(alive(p.pid)).toBe(false)
  }, 60_000)

  it('exits 1 with status broken when the stack cannot start, leaving nothing behind', async () => {
    const outcome = await run('smoke', { mockProfile: 'no-such-profile' })
    expect(outcome.exitCode).toBe(1)
    expect(outcome.summary).toMatchObject({
      status: 'broken',
      status_reason: expect.stringMatching(/mock providers exited/),
    })
    for (const p of outcome.processes) expect(alive(p.pid)).toBe(false)
  }, 60_000)

  it('on SIGINT, the CLI stops the mocks, the proxy and the engine it started', async () => {
    const out = join(dir, 'sigint')
    const cli = spawn(process.execPath, ['scenarios/cli.ts', 'smoke', '--tiers', tiersFile, '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    cli.stderr.setEncoding('utf8')
    // The first progress line means the mocks, the proxy and the engine are all running.
    await new Promise<void>((resolve, reject) => {
      cli.stderr.on('data', (text: string) => {
        stderr += text
        if (stderr.includes('req/s')) resolve()
      })
      cli.once('exit', (code) => reject(new Error(`the CLI exited (${code}) before running:\n${stderr}`)))
    })
    const children = descendants(cli.pid!)
    expect(children.length).toBeGreaterThanOrEqual(3)
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)))
    cli.kill('SIGINT')
    expect(await exited).toBe(130)
    for (const pid of children) expect(alive(pid), `pid ${pid} still runs`).toBe(false)
    expect(parseSummary(readFileSync(join(out, 'summary.json'), 'utf8')).status).toBe('broken')
  }, 60_000)
})

function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
  const found: number[] = []
  const walk = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child)
        walk(child)
      }
    }
  }
  walk(pid)
  return found
}
