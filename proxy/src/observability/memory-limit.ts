import { readFileSync } from 'node:fs'
import { totalmem } from 'node:os'
import { getHeapStatistics } from 'node:v8'

// What "memory usage percent" is measured against.
//
// - heap: V8's heap_size_limit (--max-old-space-size or V8's default for the machine); usage is
//   the heap in use. Past it the process dies with "JavaScript heap out of memory".
// - cgroup: the container's limit, /sys/fs/cgroup/memory.max (cgroup v2) or
//   /sys/fs/cgroup/memory/memory.limit_in_bytes (v1); usage is the process's RSS. Past it the
//   kernel's OOM killer ends the process. With node:cluster workers the limit is shared, so each
//   worker gets its share (limit / workers).
// - config: memory.limit_mb, when an operator sets a budget of their own.
//
// A cgroup limit is "real" when it is a number below the machine's memory ("max" and v1's huge
// sentinel mean none). The lower of the real limits wins, and usage is read to match its source.

export type LimitSource = 'heap' | 'cgroup' | 'config'

export interface MemoryLimit {
  readonly bytes: number
  readonly source: LimitSource
}

export interface MemoryReading {
  readonly rss: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly arrayBuffers: number
  readonly heapLimit: number
}

const CGROUP_FILES = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']

/** The container's memory limit in bytes, or undefined when there is none. */
export function cgroupLimit(
  files: readonly string[] = CGROUP_FILES,
  machine = totalmem(),
): number | undefined {
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(file, 'utf8').trim()
    } catch {
      continue
    }
    if (text === 'max') return undefined
    const bytes = Number(text)
    if (Number.isFinite(bytes) && bytes > 0 && bytes < machine) return bytes
    return undefined
  }
  return undefined
}

export function effectiveLimit(options: {
  heapLimit?: number
  cgroup?: number | undefined
  configMb?: number | undefined
  workers?: number
}): MemoryLimit {
  if (options.configMb !== undefined) return { bytes: options.configMb * 1024 * 1024, source: 'config' }
  const heap = options.heapLimit ?? getHeapStatistics().heap_size_limit
  const share = options.cgroup === undefined ? undefined : options.cgroup / Math.max(1, options.workers ?? 1)
  if (share !== undefined && share < heap) return { bytes: share, source: 'cgroup' }
  return { bytes: heap, source: 'heap' }
}

export function readMemory(): MemoryReading {
  const m = process.memoryUsage()
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    heapLimit: getHeapStatistics().heap_size_limit,
  }
}

/** The usage that matches the limit's source: RSS against a container or a configured budget. */
export function usedBytes(reading: MemoryReading, limit: MemoryLimit): number {
  return limit.source === 'heap' ? reading.heapUsed : reading.rss
}
