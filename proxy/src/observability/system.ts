import { readFileSync, statfsSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { type EventLoopUtilization, monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { round } from './window.ts'

// The `system` section of the JSON /metrics: CPU, event loop, load, disk, network, handles.
// Read on demand (a scrape, an alert evaluation), never on the request path.

const MB = 1024 * 1024
const RESOLUTION_MS = 10

export interface SystemOptions {
  /** Directory whose file system is reported (the working directory by default). */
  readonly diskPath?: string
  /** /proc/net/dev or a stand-in; absent file means no network figures. */
  readonly netDevPath?: string
  readonly now?: () => number
}

export class SystemSampler {
  readonly #delay: ReturnType<typeof monitorEventLoopDelay>
  readonly #diskPath: string
  readonly #netDevPath: string
  readonly #now: () => number
  #cpu = process.cpuUsage()
  #cpuAt: number
  #elu: EventLoopUtilization = performance.eventLoopUtilization()
  #eluScrape: EventLoopUtilization = performance.eventLoopUtilization()
  #delayResetAt: number

  constructor(options: SystemOptions = {}) {
    this.#diskPath = options.diskPath ?? process.cwd()
    this.#netDevPath = options.netDevPath ?? '/proc/net/dev'
    this.#now = options.now ?? Date.now
    this.#cpuAt = this.#now()
    this.#delayResetAt = this.#cpuAt
    this.#delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    this.#delay.enable()
  }

  stop(): void {
    this.#delay.disable()
  }

  /** Event-loop utilization since the previous call of this method (the Prometheus scrape). */
  utilizationSinceLastScrape(): number {
    const now = performance.eventLoopUtilization()
    const delta = performance.eventLoopUtilization(now, this.#eluScrape)
    this.#eluScrape = now
    return round(delta.utilization, 4)
  }

  /** Figures since the previous snapshot (CPU, utilization); event-loop delay over the last minute. */
  snapshot() {
    const now = this.#now()
    const elapsedMs = Math.max(1, now - this.#cpuAt)
    const cpu = process.cpuUsage(this.#cpu)
    this.#cpu = process.cpuUsage()
    this.#cpuAt = now
    const eluNow = performance.eventLoopUtilization()
    const elu = performance.eventLoopUtilization(eluNow, this.#elu)
    this.#elu = eluNow
    const d = this.#delay
    // The histogram records whole timer intervals (resolution included): the delay is the excess.
    const ms = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS))
    const delay = {
      p50_ms: d.count ? ms(d.percentile(50)) : null,
      p99_ms: d.count ? ms(d.percentile(99)) : null,
      max_ms: d.count ? ms(d.max) : null,
      mean_ms: d.count ? ms(d.mean) : null,
      since: new Date(this.#delayResetAt).toISOString(),
    }
    if (now - this.#delayResetAt >= 60_000) {
      d.reset()
      this.#delayResetAt = now
    }
    const resources = process.getActiveResourcesInfo()
    const byType: Record<string, number> = {}
    for (const r of resources) byType[r] = (byType[r] ?? 0) + 1
    return {
      cpu: {
        user_ms: round(cpu.user / 1000),
        system_ms: round(cpu.system / 1000),
        percent: round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100, 1),
        interval_ms: elapsedMs,
        cores: availableParallelism(),
      },
      event_loop: { delay: delay, utilization: round(elu.utilization, 4) },
      load_average: loadavg().map((l) => round(l, 2)),
      disk: this.#disk(),
      network: this.#network(),
      handles: { active_resources: resources.length, by_type: byType },
      process: {
        pid: process.pid,
        uptime_seconds: round(process.uptime(), 1),
        node_version: process.version,
      },
    }
  }

  #disk() {
    try {
      const s = statfsSync(this.#diskPath)
      const total = s.blocks * s.bsize
      const free = s.bavail * s.bsize
      return {
        path: this.#diskPath,
        total_mb: round(total / MB, 1),
        free_mb: round(free / MB, 1),
        used_percent: total ? round(((total - free) / total) * 100, 1) : 0,
      }
    } catch {
      return null
    }
  }

  #network() {
    let text: string
    try {
      text = readFileSync(this.#netDevPath, 'utf8')
    } catch {
      return null
    }
    return parseNetDev(text)
  }
}

/** /proc/net/dev: per interface received and sent bytes and packets, and the totals. */
export function parseNetDev(text: string) {
  const interfaces: Record<
    string,
    { rx_bytes: number; tx_bytes: number; rx_packets: number; tx_packets: number }
  > = {}
  let rx = 0
  let tx = 0
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const name = line.slice(0, colon).trim()
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number)
    if (f.length < 10) continue
    interfaces[name] = { rx_bytes: f[0], rx_packets: f[1], tx_bytes: f[8], tx_packets: f[9] }
    rx += f[0]
    tx += f[8]
  }
  return { rx_bytes: rx, tx_bytes: tx, interfaces }
}
