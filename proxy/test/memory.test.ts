import { spawnSync } from 'node:child_process'
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { HeapDumper } from '../src/observability/heap-dump.ts'
import { LeakDetector } from '../src/observability/leak-detector.ts'
import { cgroupLimit, effectiveLimit, type MemoryReading } from '../src/observability/memory-limit.ts'
import { MemoryManager, type Timers } from '../src/observability/memory-manager.ts'
import type { MemoryPressureTarget } from '../src/observability/sources.ts'
import { type Harness, startAll } from './helpers.ts'

const MB = 1024 * 1024
const silent = pino({ level: 'silent' })

class FakeTarget implements MemoryPressureTarget {
  readonly name: string
  held = 100 * MB
  readonly shrinks: number[] = []
  constructor(name: string) {
    this.name = name
  }
  bytes() {
    return this.held
  }
  shrink(fraction: number) {
    this.shrinks.push(fraction)
    const freed = Math.floor(this.held * fraction)
    this.held -= freed
    return freed
  }
}

class ManualTimers implements Timers {
  fn: (() => void) | undefined
  ms = 0
  setInterval(fn: () => void, ms: number) {
    this.fn = fn
    this.ms = ms
    return 1
  }
  clearInterval() {
    this.fn = undefined
  }
}

const reading = (heapUsed: number, rss = heapUsed * 2): MemoryReading => ({
  rss,
  heapUsed,
  heapTotal: heapUsed,
  external: 0,
  arrayBuffers: 0,
  heapLimit: 4096 * MB,
})

describe('memory management', () => {
  let h: Harness | undefined
  afterEach(async () => {
    await h?.close()
    h = undefined
  })

  it('cleans up in an emergency when usage passes a low configured limit, shrinking every cache', async () => {
    const target = new FakeTarget('fake-cache')
    const timers = new ManualTimers()
    h = await startAll({
      overrides: {
        memory: { limit_mb: 1, max_usage_percent: 50, gc_threshold_percent: 40, monitoring_interval: 7 },
      },
      deps: { memoryTargets: [target], monitoring: { timers, observeGc: false } },
    })
    expect(timers.ms).toBe(7000)
    const before = await (await fetch(`${h.url}/health`)).json()
    expect(before.checks.memory).toMatchObject({
      status: 'unavailable',
      level: 'critical',
      limit_source: 'config',
    })

    timers.fn!()
    await new Promise((r) => setTimeout(r, 50))
    const memory = h.app.telemetry.memory
    expect(memory.emergencyCleanups).toBe(1)
    expect(target.shrinks).toEqual([0.5])
    expect(memory.lastCleanup).toMatchObject({ level: 'critical', freed_bytes: 50 * MB })
    const metrics = await (await fetch(`${h.url}/metrics`)).json()
    expect(metrics.memory).toMatchObject({ emergency_cleanups: 1, limit_source: 'config', limit_mb: 1 })
    const scrape = await (await fetch(`${h.url}/metrics/prometheus`)).text()
    expect(scrape).toMatch(/^llm_proxy_memory_emergency_cleanups_total 1$/m)
    expect(scrape).toMatch(/^llm_proxy_memory_limit_bytes 1048576$/m)
  })

  it('shrinks caches gently between gc_threshold_percent and max_usage_percent, and leaves them alone below', async () => {
    let used = 70 * MB
    const target = new FakeTarget('fake')
    const manager = new MemoryManager({
      maxUsagePercent: 85,
      gcThresholdPercent: 60,
      intervalMs: 1000,
      limit: { bytes: 100 * MB, source: 'heap' },
      targets: [target],
      now: () => 0,
      logger: silent,
      read: () => reading(used),
      observeGc: false,
    })
    expect((await manager.sample()).level).toBe('high')
    expect(target.shrinks).toEqual([0.1])
    expect(manager.gentleCleanups).toBe(1)
    expect(manager.emergencyCleanups).toBe(0)
    used = 30 * MB
    expect((await manager.sample()).level).toBe('ok')
    expect(target.shrinks).toEqual([0.1])
  })

  it('takes a heap snapshot in an emergency when profiling asks, within max_dumps', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'dumps-')), 'nested')
    const written: string[] = []
    const dumper = new HeapDumper({
      dir,
      maxDumps: 1,
      minIntervalMs: 0,
      now: Date.now,
      write: async (file) => {
        written.push(file)
        writeFileSync(file, '{}', { mode: 0o600 })
      },
    })
    const manager = new MemoryManager({
      maxUsagePercent: 50,
      gcThresholdPercent: 40,
      intervalMs: 1000,
      limit: { bytes: MB, source: 'config' },
      targets: [],
      now: Date.now,
      logger: silent,
      dumper,
      observeGc: false,
    })
    await manager.sample()
    await manager.sample()
    expect(written).toHaveLength(1)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(manager.dumps()).toMatchObject({ enabled: true, next: 'max_dumps (1) reached' })
  })

  it('writes a real heap snapshot owner-only (0600) in an owner-only directory (0700)', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'dumps-')), 'd')
    const script = `
      import { HeapDumper } from './proxy/src/observability/heap-dump.ts'
      const d = new HeapDumper({ dir: ${JSON.stringify(dir)}, maxDumps: 1, minIntervalMs: 60000, now: Date.now })
      const info = await d.dump('test')
      console.log(JSON.stringify({ info, refusal: d.refusal() }))`
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(out.status, out.stderr).toBe(0)
    const { info, refusal } = JSON.parse(out.stdout)
    expect(info.bytes).toBeGreaterThan(1000)
    expect(statSync(info.file).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(refusal).toBe('max_dumps (1) reached')
  })

  it('measures against the lower real limit: the heap, or the cgroup share of each worker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgroup-'))
    const v2 = join(dir, 'memory.max')
    writeFileSync(v2, 'max\n')
    expect(cgroupLimit([v2], 64 * 1024 * MB)).toBeUndefined()
    writeFileSync(v2, `${512 * MB}\n`)
    expect(cgroupLimit([v2], 64 * 1024 * MB)).toBe(512 * MB)
    const v1 = join(dir, 'memory.limit_in_bytes')
    writeFileSync(v1, '9223372036854771712\n')
    expect(cgroupLimit([join(dir, 'absent'), v1], 64 * 1024 * MB)).toBeUndefined()

    expect(effectiveLimit({ heapLimit: 4096 * MB, cgroup: 512 * MB })).toEqual({
      bytes: 512 * MB,
      source: 'cgroup',
    })
    expect(effectiveLimit({ heapLimit: 4096 * MB, cgroup: 16384 * MB })).toEqual({
      bytes: 4096 * MB,
      source: 'heap',
    })
    expect(effectiveLimit({ heapLimit: 4096 * MB, cgroup: 8192 * MB, workers: 4 })).toEqual({
      bytes: 2048 * MB,
      source: 'cgroup',
    })
    expect(effectiveLimit({ heapLimit: 4096 * MB })).toEqual({ bytes: 4096 * MB, source: 'heap' })
    expect(effectiveLimit({ heapLimit: 4096 * MB, configMb: 300 })).toEqual({
      bytes: 300 * MB,
      source: 'config',
    })
  })
})

describe('leak detection from the post-GC heap trend', () => {
  const minute = 60_000
  const feed = (d: LeakDetector, mbAt: (i: number) => number, n = 20) => {
    for (let i = 0; i < n; i++) d.add(i * minute, mbAt(i) * MB)
    return d.verdict((n - 1) * minute)
  }

  it('flags a steady rise beyond the threshold', () => {
    const v = feed(new LeakDetector(), (i) => 100 + 2 * i + (i % 2 ? 0.5 : -0.5))
    expect(v.suspected).toBe(true)
    expect(v.slope_mb_per_minute).toBeCloseTo(2, 0)
    expect(v.r_squared).toBeGreaterThan(0.9)
  })

  it('does not flag a cache warming up and levelling off, nor a flat heap', () => {
    expect(feed(new LeakDetector(), (i) => (i < 8 ? 100 + 10 * i : 180)).suspected).toBe(false)
    expect(feed(new LeakDetector(), (i) => 100 + (i % 3)).suspected).toBe(false)
  })

  it('waits for enough samples over enough time', () => {
    const v = feed(new LeakDetector(), (i) => 100 + 5 * i, 4)
    expect(v).toMatchObject({ suspected: false, samples: 4, slope_mb_per_minute: null })
  })
})
