import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import type { FastifyInstance } from 'fastify'
import type { Clock } from '../clock.ts'
import { ProxyError } from '../errors.ts'
import { admin } from '../http/access.ts'
import { CpuProfiler } from '../observability/cpu-profile.ts'
import type { Telemetry } from '../observability/telemetry.ts'
import { round } from '../observability/window.ts'

// The guide's debugging endpoints, for an operator holding an admin key:
//   POST /debug/memory/gc        a full GC now, with the heap before and after
//   GET  /debug/memory/profile   heap statistics and spaces, the post-GC trend, the leak verdict
//   GET  /debug/profile?seconds=N  a CPU profile of N seconds (.cpuprofile download)
// In production they do not exist (404) unless profiling.enabled or app.debug is set. Under
// node:cluster they act on the worker that answers (its pid is in each answer).

export const PROFILE_SECONDS = { default: 5, max: 60 }

const MB = 1024 * 1024
const mb = (bytes: number) => round(bytes / MB, 2)

export function debugRoutesEnabled(telemetry: Telemetry): boolean {
  const c = telemetry.config
  return c.app.environment !== 'production' || c.profiling.enabled || c.app.debug
}

export function registerDebugRoutes(
  app: FastifyInstance,
  deps: { telemetry: Telemetry; clock: Clock },
): void {
  const { telemetry, clock } = deps
  if (!debugRoutesEnabled(telemetry)) return
  const profiler = new CpuProfiler()

  app.post('/debug/memory/gc', admin('debug'), async () => {
    const before = process.memoryUsage()
    const gc = telemetry.memory.collect()
    const after = process.memoryUsage()
    return {
      pid: process.pid,
      ...gc,
      before: {
        rss_mb: mb(before.rss),
        heap_used_mb: mb(before.heapUsed),
        heap_total_mb: mb(before.heapTotal),
      },
      after: { rss_mb: mb(after.rss), heap_used_mb: mb(after.heapUsed), heap_total_mb: mb(after.heapTotal) },
      memory: telemetry.memory.status(),
    }
  })

  app.get('/debug/memory/profile', admin('debug'), async () => {
    const heap = getHeapStatistics()
    const now = clock.now()
    const manager = telemetry.memory
    return {
      pid: process.pid,
      memory: manager.status(),
      heap: {
        used_mb: mb(heap.used_heap_size),
        total_mb: mb(heap.total_heap_size),
        limit_mb: mb(heap.heap_size_limit),
        available_mb: mb(heap.total_available_size),
        physical_mb: mb(heap.total_physical_size),
        malloced_mb: mb(heap.malloced_memory),
        peak_malloced_mb: mb(heap.peak_malloced_memory),
        external_mb: mb(heap.external_memory),
        native_contexts: heap.number_of_native_contexts,
        // Contexts kept alive after their owner went away: a classic leak.
        detached_contexts: heap.number_of_detached_contexts,
      },
      spaces: getHeapSpaceStatistics().map((s) => ({
        name: s.space_name,
        size_mb: mb(s.space_size),
        used_mb: mb(s.space_used_size),
        available_mb: mb(s.space_available_size),
      })),
      trend: manager.leak
        .samples()
        .slice(-60)
        .map((s) => ({ at: new Date(s.t).toISOString(), heap_used_mb: round(s.mb, 2) })),
      leak: manager.leak.verdict(now),
      cleanups: {
        emergency: manager.emergencyCleanups,
        gentle: manager.gentleCleanups,
        gc_runs: manager.gcRuns,
        last: manager.lastCleanup ?? null,
      },
      targets: manager.targets(),
      heap_dumps: manager.dumps(),
    }
  })

  app.get('/debug/profile', admin('debug'), async (request, reply) => {
    const raw = (request.query as Record<string, string | undefined>).seconds
    const seconds = raw === undefined ? PROFILE_SECONDS.default : Number(raw)
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > PROFILE_SECONDS.max) {
      throw new ProxyError('invalid_request', {
        param: 'seconds',
        message: `seconds must be a number in (0, ${PROFILE_SECONDS.max}]`,
      })
    }
    if (profiler.running) throw new ProxyError('profile_in_progress')
    const profile = await profiler.profile(seconds, (ms) => clock.sleep(ms))
    const name = `cpu-${new Date(clock.now()).toISOString().replace(/[:.]/g, '-')}-${process.pid}.cpuprofile`
    reply
      .header('content-type', 'application/json')
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'no-store')
    return JSON.stringify(profile)
  })
}
