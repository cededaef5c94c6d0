import { constants, PerformanceObserver } from 'node:perf_hooks'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Logger } from 'pino'
import type { MemoryGauges } from './collectors.ts'
import type { HeapDumper } from './heap-dump.ts'
import { LeakDetector, type LeakOptions } from './leak-detector.ts'
import { type MemoryLimit, type MemoryReading, readMemory, usedBytes } from './memory-limit.ts'
import type { MemoryPressureTarget } from './sources.ts'
import { round } from './window.ts'

// The guide's memory section: sample every memory.monitoring_interval; at gc_threshold_percent
// run a GC if the process exposes one and shrink caches a little; at max_usage_percent clean up
// hard (GC, every registered cache shrunk by half, a heap snapshot when profiling asks for one).

export type MemoryLevel = 'ok' | 'high' | 'critical'

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown
  clearInterval(handle: unknown): void
}

const systemTimers: Timers = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
}

export interface MemoryManagerOptions {
  readonly maxUsagePercent: number
  readonly gcThresholdPercent: number
  readonly intervalMs: number
  readonly limit: MemoryLimit
  /** Live list: caches register themselves after the manager is built. */
  readonly targets: readonly MemoryPressureTarget[]
  readonly now: () => number
  readonly logger: Logger
  readonly read?: () => MemoryReading
  readonly dumper?: HeapDumper
  readonly leak?: Partial<LeakOptions>
  readonly timers?: Timers
  /** Watch major GCs for the leak trend (off in unit tests that drive samples themselves). */
  readonly observeGc?: boolean
}

const MB = 1024 * 1024
const mb = (bytes: number) => round(bytes / MB, 1)
const GENTLE_SHRINK = 0.1
const EMERGENCY_SHRINK = 0.5

export class MemoryManager {
  readonly leak: LeakDetector
  readonly #o: MemoryManagerOptions
  readonly #read: () => MemoryReading
  readonly #timers: Timers
  #timer: unknown
  #gcObserver: PerformanceObserver | undefined
  #gc: (() => void) | undefined
  #lastLeakSampleAt = Number.NEGATIVE_INFINITY
  emergencyCleanups = 0
  gentleCleanups = 0
  gcRuns = 0
  lastCleanup: { at: string; level: MemoryLevel; freed_bytes: number; usage_percent: number } | undefined

  constructor(options: MemoryManagerOptions) {
    this.#o = options
    this.#read = options.read ?? readMemory
    this.#timers = options.timers ?? systemTimers
    this.leak = new LeakDetector(options.leak)
  }

  start(): void {
    if (this.#timer !== undefined) return
    this.#timer = this.#timers.setInterval(() => {
      this.sample().catch((err) => this.#o.logger.error({ err }, 'memory sample failed'))
    }, this.#o.intervalMs)
    if (this.#o.observeGc !== false) {
      this.#gcObserver = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind
          if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.#leakSample()
        }
      })
      this.#gcObserver.observe({ entryTypes: ['gc'] })
    }
  }

  stop(): void {
    if (this.#timer !== undefined) this.#timers.clearInterval(this.#timer)
    this.#timer = undefined
    this.#gcObserver?.disconnect()
    this.#gcObserver = undefined
  }

  get limit(): MemoryLimit {
    return this.#o.limit
  }

  /** The current reading against the limit and thresholds; takes no action. */
  status() {
    const r = this.#read()
    const used = usedBytes(r, this.#o.limit)
    const percent = (used / this.#o.limit.bytes) * 100
    const level: MemoryLevel =
      percent >= this.#o.maxUsagePercent ? 'critical' : percent >= this.#o.gcThresholdPercent ? 'high' : 'ok'
    return {
      level,
      usage_percent: round(percent, 1),
      rss_mb: mb(r.rss),
      heap_used_mb: mb(r.heapUsed),
      heap_total_mb: mb(r.heapTotal),
      heap_limit_mb: mb(r.heapLimit),
      external_mb: mb(r.external),
      array_buffers_mb: mb(r.arrayBuffers),
      limit_mb: mb(this.#o.limit.bytes),
      limit_source: this.#o.limit.source,
      measured: this.#o.limit.source === 'heap' ? 'heap_used' : 'rss',
      thresholds: { gc_percent: this.#o.gcThresholdPercent, max_percent: this.#o.maxUsagePercent },
    }
  }

  /** One monitoring tick: read, and act on the thresholds. */
  async sample() {
    const before = this.status()
    if (before.level === 'ok') return before
    const critical = before.level === 'critical'
    if (critical) {
      this.emergencyCleanups++
      this.#o.logger.warn(
        { usage_percent: before.usage_percent, limit_mb: before.limit_mb, source: before.limit_source },
        'memory above max_usage_percent: emergency cleanup',
      )
      this.collect()
    } else {
      this.gentleCleanups++
      if (typeof globalThis.gc === 'function') this.collect()
    }
    const freed = this.#shrinkAll(critical ? EMERGENCY_SHRINK : GENTLE_SHRINK)
    this.lastCleanup = {
      at: new Date(this.#o.now()).toISOString(),
      level: before.level,
      freed_bytes: freed,
      usage_percent: before.usage_percent,
    }
    const after = this.status()
    const dumper = this.#o.dumper
    if (critical && dumper && after.level === 'critical' && dumper.refusal() === undefined) {
      try {
        const info = await dumper.dump(`usage ${after.usage_percent}% of ${after.limit_mb} MB`)
        this.#o.logger.warn({ file: info.file, bytes: info.bytes }, 'heap snapshot written')
      } catch (err) {
        this.#o.logger.error({ err: (err as Error).message }, 'heap snapshot failed')
      }
    }
    return after
  }

  /** A full garbage collection now (exposing V8's gc function if the process was not started with it). */
  collect(): { before_mb: number; after_mb: number; freed_mb: number; duration_ms: number } {
    this.#gc ??= obtainGc()
    const before = getHeapStatistics().used_heap_size
    const started = performance.now()
    this.#gc()
    const duration = performance.now() - started
    const after = getHeapStatistics().used_heap_size
    this.gcRuns++
    this.#leakSample(true)
    return {
      before_mb: mb(before),
      after_mb: mb(after),
      freed_mb: mb(before - after),
      duration_ms: round(duration, 2),
    }
  }

  gauges(): MemoryGauges {
    const s = this.status()
    return {
      usage_ratio: s.usage_percent / 100,
      limit_bytes: this.#o.limit.bytes,
      limit_source: this.#o.limit.source,
      leak_suspected: this.leak.verdict(this.#o.now()).suspected,
      emergency_cleanups: this.emergencyCleanups,
      gc_runs: this.gcRuns,
      heap_dumps: this.#o.dumper?.dumps.length ?? 0,
    }
  }

  /** Heap snapshots taken, and whether more may be (profiling.dump_on_high_usage). */
  dumps() {
    const d = this.#o.dumper
    if (!d) return { enabled: false, taken: [] }
    return { enabled: true, taken: d.dumps, next: d.refusal() ?? 'allowed' }
  }

  targets(): { name: string; bytes: number }[] {
    return this.#o.targets.map((t) => ({ name: t.name, bytes: t.bytes() }))
  }

  #shrinkAll(fraction: number): number {
    let freed = 0
    for (const target of this.#o.targets) {
      try {
        freed += target.shrink(fraction)
      } catch (err) {
        this.#o.logger.error({ err, target: target.name }, 'cache shrink failed')
      }
    }
    return freed
  }

  #leakSample(force = false): void {
    const now = this.#o.now()
    // Major GCs can come in bursts under load; one sample every 5 s is plenty for a trend.
    if (!force && now - this.#lastLeakSampleAt < 5_000) return
    this.#lastLeakSampleAt = now
    this.leak.add(now, getHeapStatistics().used_heap_size)
  }
}

/** V8's gc(), exposed at run time: the flag makes new contexts carry a `gc` global. */
function obtainGc(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc as () => void
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}
