// Merging the shards of a split run is exact: the merged percentiles are those of one histogram holding
// every shard's values; and two real shard runs against one proxy merge into the run one generator
// would have made: the same requests, scenario by scenario, judged as one run.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSummary, type RunSummary } from '../../reports/src/summary.ts'
import { addStreamGroup, encodeHistogram, encodeStreamGroup, mergeEncoded } from '../engines/hdr.ts'
import { parseSegmentIndex } from '../engines/segment.ts'
import { histogram, latencyStats, recordMs, StreamGroup } from '../engines/stats.ts'
import { mergeAndGate } from '../merge-cli.ts'
import { seededRandom } from '../random.ts'
import { MergeError } from '../run/merge.ts'
import { ProcessGroup } from '../run/processes.ts'
import { readSamples } from '../run/run-files.ts'
import { type RunOptions, runTier } from '../run/runner.ts'
import { bootStack, REPO_ROOT, type Stack } from '../run/stack.ts'
import { alive } from './servers.ts'

/** A latency-like sample: lognormal around 5 ms with a tail, in ms. */
function samples(n: number, seed: number): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: n }, () => {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
    return Math.exp(Math.log(5) + 0.8 * normal) + (random() < 0.01 ? 2000 * random() : 0)
  })
}

const PERCENTILES = [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]

describe('merging histograms', () => {
  it.each([2, 3, 4, 7])(
    'gives the percentiles of one histogram holding every shard value (%i shards)',
    (n) => {
      const values = samples(20_000, n)
      const random = seededRandom(100 + n)
      const shards = Array.from({ length: n }, () => histogram())
      const union = histogram()
      for (const v of values) {
        recordMs(shards[Math.floor(random() * n)], v)
        recordMs(union, v)
      }
      const merged = mergeEncoded(shards.map(encodeHistogram))
      expect(merged.totalCount).toBe(values.length)
      for (const p of PERCENTILES)
        expect(merged.getValueAtPercentile(p), `p${p}`).toBe(union.getValueAtPercentile(p))
      expect(merged.mean).toBe(union.mean)
      // The summary's figures too: the extremes come from the shards' own (recorded) min and max.
      const own = shards.map((h) => latencyStats(h)!)
      const extremes = { min: Math.min(...own.map((s) => s.min)), max: Math.max(...own.map((s) => s.max)) }
      expect(latencyStats(merged, extremes)).toEqual(latencyStats(union))
    },
  )

  it('merges stream figures (TTFT, ITL, tokens/s by cache status) exactly', () => {
    const random = seededRandom(5)
    const shards = [new StreamGroup(), new StreamGroup(), new StreamGroup()]
    const union = new StreamGroup()
    const ttfts = samples(3000, 9)
    for (const [i, ttftMs] of ttfts.entries()) {
      const stream = {
        ttftMs,
        itlMs: samples(8, i).map((x) => x / 10),
        tokens: 9,
        truncated: random() < 0.02,
      }
      const cache = (['hit', 'miss', 'none'] as const)[Math.floor(random() * 3)]
      const latency = ttftMs + 40 * random()
      shards[i % 3].add(stream, latency, cache)
      union.add(stream, latency, cache)
    }
    const merged = new StreamGroup()
    for (const shard of shards) addStreamGroup(merged, encodeStreamGroup(shard))
    expect(merged.stats()).toEqual(union.stats())
  })

  it('reports TTFT and ITL as not measured (null), never 0 ms, when no stream gave one, merged or not', () => {
    const empty = { ttftMs: Number.NaN, itlMs: [], tokens: 0, truncated: false }
    const oneToken = { ttftMs: 12, itlMs: [], tokens: 1, truncated: false }
    const group = new StreamGroup()
    group.add(empty, 5, 'miss')
    group.add(oneToken, 12, 'hit')
    const merged = new StreamGroup()
    addStreamGroup(merged, encodeStreamGroup(group))
    for (const stats of [group.stats(), merged.stats()]) {
      expect(stats.stream).toMatchObject({ streams: 2, itl_ms: null })
      expect(stats.stream?.ttft_ms?.p50).toBeCloseTo(12, 1)
      expect(stats.stream_by_cache?.miss).toMatchObject({ streams: 1, ttft_ms: null, itl_ms: null })
    }
  })
})

const TIERS = `
defaults:
  scenarios:
    - { name: chat, weight: 5 }
    - { name: chat-stream, weight: 3 }
    - { name: models, weight: 1 }
tiers:
  split:
    users: 20
    duration: 4s
    ramp_up: 1s
    expected_rps: 20
    latency: { percentile: 95, max_ms: 2000 }
    error_rate_max: 0.05
`

describe('a split run, merged', () => {
  let dir: string
  let tiersFile: string
  let group: ProcessGroup
  let stack: Stack
  let single: RunSummary
  let shardDirs: string[]
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'merge-test-'))
    tiersFile = join(dir, 'tiers.yaml')
    writeFileSync(tiersFile, TIERS)
    group = new ProcessGroup()
    stack = await bootStack({ group, runDir: dir, mockProfile: 'baseline', seed: 42 })
    const base: RunOptions = {
      tier: 'split',
      tiersFile,
      target: stack.targetUrl,
      apiKey: stack.apiKey,
      progress: null,
    }
    single = (await runTier({ ...base, out: join(dir, 'single') })).summary
    const startAt = new Date(Date.now() + 2000)
    shardDirs = [join(dir, 'shard-0'), join(dir, 'shard-1')]
    const shards = await Promise.all(
      shardDirs.map((out, i) => runTier({ ...base, out, startAt, segment: parseSegmentIndex(`${i}/2`) })),
    )
    for (const shard of shards) expect(shard.exitCode).toBe(0)
  }, 90_000)
  afterAll(async () => {
    await group.stopAll()
    stack.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('merges two shard runs into the run one generator sends: the same requests, scenario by scenario', () => {
    const outcome = mergeAndGate(shardDirs, { out: join(dir, 'merged'), tiersFile, command: 'vitest' })
    const merged = outcome.summary
    const shards = shardDirs.map((d) => parseSummary(readFileSync(join(d, 'summary.json'), 'utf8')))
    expect(shards.map((s) => s.run.segment?.segment)).toEqual(['0:1/2', '1/2:1'])
    expect(shards.map((s) => s.run.segment?.users)).toEqual([10, 10])
    for (const s of shards) expect(s.run.segment?.start_lag_ms).toBeGreaterThanOrEqual(0)
    // Passed, or inconclusive when a generator of this busy machine may have been the limit.
    expect(['passed', 'inconclusive']).toContain(merged.status)
    expect(merged.status === 'inconclusive').toBe(merged.shards?.some((s) => s.generator_limited))
    expect(outcome.exitCode).toBe(merged.status === 'passed' ? 0 : 3)
    // Every arrival of the schedule once: the single run's count, and its sequence of requests.
    expect(merged.totals.requests).toBe(single.totals.requests)
    expect(merged.totals.requests).toBe(shards[0].totals.requests + shards[1].totals.requests)
    expect(merged.scenarios.map((s) => [s.name, s.requests])).toEqual(
      single.scenarios.map((s) => [s.name, s.requests]),
    )
    expect(merged.shards?.map((s) => [s.segment, s.requests])).toEqual([
      ['0:1/2', shards[0].totals.requests],
      ['1/2:1', shards[1].totals.requests],
    ])
    // Second by second, the shards' counts add up and their samples are put together.
    const points = merged.timeseries?.points ?? []
    expect(points.reduce((n, p) => n + (p.requests ?? 0), 0)).toBe(merged.totals.requests)
    const pooled = readSamples(outcome.dir).latency_ms.flat().length
    expect(pooled).toBe(shardDirs.map((d) => readSamples(d).latency_ms.flat().length).reduce((a, b) => a + b))
    // Judged as one run: the whole tier's baselines, and the gate (no baseline for this tier).
    expect(merged.baselines.find((b) => b.metric === 'rps_after_ramp_up')?.threshold).toBe(18)
    expect(outcome.gateNote).toMatch(/no baseline/)
    for (const file of ['summary.json', 'report.html', 'samples.json', 'histograms.json', 'ticks.ndjson'])
      expect(existsSync(join(outcome.dir, file)), file).toBe(true)
    expect(merged.totals.x_cache?.hit ?? 0).toBeGreaterThan(0)
  })

  it('refuses a set of shards that misses a segment (exit 1) or mixes runs (exit 2)', () => {
    const missing = () => mergeAndGate([shardDirs[1]], { out: join(dir, 'm1'), tiersFile, command: 'vitest' })
    expect(missing).toThrow(/no shard ran the segment 0:1\/2/)
    expect(() => missing()).toThrow(expect.objectContaining({ exitCode: 1 }))
    const mixed = () =>
      mergeAndGate([shardDirs[0], join(dir, 'single')], {
        out: join(dir, 'm2'),
        tiersFile,
        command: 'vitest',
      })
    expect(mixed).toThrow(MergeError)
    expect(() => mixed()).toThrow(expect.objectContaining({ exitCode: 2 }))
  })

  it('npm run load -- <tier> --shards 2 runs two shard processes against one proxy and merges them', () => {
    const out = join(dir, 'local')
    const res = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'scenarios/cli.ts'),
        'split',
        '--tiers',
        tiersFile,
        '--shards',
        '2',
        '--out',
        out,
        '--quiet',
      ],
      { encoding: 'utf8', timeout: 90_000 },
    )
    const merged = parseSummary(readFileSync(join(out, 'summary.json'), 'utf8'))
    expect(res.status, res.stderr + res.stdout).toBe(merged.status === 'passed' ? 0 : 3)
    expect(merged.shards?.map((s) => s.segment)).toEqual(['0:1/2', '1/2:1'])
    expect(merged.run.mock_profile).toBe('baseline')
    expect(merged.totals.requests).toBe(single.totals.requests)
    expect(res.stdout).toMatch(/exit [03]/)
    for (const pid of (readFileSync(join(out, 'proxy.log'), 'utf8').match(/"pid":(\d+)/) ?? []).slice(1))
      expect(alive(Number(pid))).toBe(false)
  }, 90_000)
})
