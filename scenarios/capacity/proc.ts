// What Linux's /proc says about the processes a capacity run started: CPU time and resident memory
// of a process tree (the proxy's primary and its workers), its sockets by peer (clients, upstreams),
// its file-descriptor limit, and how busy the whole machine is. Every reader takes the /proc root as
// an option, so tests feed it a fake tree; on another OS the readers return null and the report says
// the figure was not measured.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { childrenOf, type ProcOptions, rssMb as processRssMb, processStat } from '../run/procfs.ts'

export type { ProcOptions }

const DEFAULT_ROOT = '/proc'

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** The process and its descendants (cluster workers), zombies included, via /proc/<pid>/task/<pid>/children. */
export function processTree(pid: number, options: ProcOptions = {}): number[] {
  const out: number[] = []
  const visit = (p: number) => {
    if (out.includes(p) || processStat(p, options) === null) return
    out.push(p)
    for (const child of childrenOf(p, options)) visit(child)
  }
  visit(pid)
  return out
}

/** User + system CPU seconds used so far by these processes (the ones still alive). */
export function cpuSeconds(pids: readonly number[], options: ProcOptions = {}): number {
  let ms = 0
  for (const pid of pids) ms += processStat(pid, options)?.ms ?? 0
  return ms / 1000
}

/**
 * Resident set size of these processes, MB (VmRSS); null when none of them has any: gone, or a
 * zombie not yet reaped, which a mean or a peak must not read as 0 MB.
 */
export function rssMb(pids: readonly number[], options: ProcOptions = {}): number | null {
  const each = pids.map((pid) => processRssMb(pid, options)).filter((mb) => mb !== null)
  return each.length === 0 ? null : each.reduce((a, b) => a + b, 0)
}

/** Open file descriptors and the socket inodes among them. */
export function descriptors(
  pids: readonly number[],
  options: ProcOptions = {},
): { fds: number; sockets: Set<string> } {
  const root = options.root ?? DEFAULT_ROOT
  const sockets = new Set<string>()
  let fds = 0
  for (const pid of pids) {
    const dir = join(root, String(pid), 'fd')
    let entries: string[]
    try {
      entries = readdirSync(dir)
    } catch {
      continue
    }
    for (const entry of entries) {
      fds++
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(join(dir, entry)))
        if (match) sockets.add(match[1])
      } catch {
        // closed between the listing and the read
      }
    }
  }
  return { fds, sockets }
}

export type TcpSocket = { readonly localPort: number; readonly remotePort: number; readonly inode: string }

const ESTABLISHED = '01'

/** Established TCP sockets (IPv4 and IPv6) from /proc/net/tcp and tcp6. */
export function establishedSockets(options: ProcOptions = {}): TcpSocket[] {
  const root = options.root ?? DEFAULT_ROOT
  const out: TcpSocket[] = []
  for (const file of ['tcp', 'tcp6']) {
    const lines =
      read(join(root, 'net', file))
        ?.split('\n')
        .slice(1) ?? []
    for (const line of lines) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10 || f[3] !== ESTABLISHED) continue
      const port = (address: string) => Number.parseInt(address.slice(address.lastIndexOf(':') + 1), 16)
      out.push({ localPort: port(f[1]), remotePort: port(f[2]), inode: f[9] })
    }
  }
  return out
}

/** The process tree's established sockets: to the given upstream ports, and from clients on its port. */
export function connectionsOf(
  pids: readonly number[],
  ports: { readonly listen: number; readonly upstream: readonly number[] },
  options: ProcOptions = {},
): { fds: number; clients: number; upstream: number } {
  const { fds, sockets } = descriptors(pids, options)
  let clients = 0
  let upstream = 0
  for (const s of establishedSockets(options)) {
    if (!sockets.has(s.inode)) continue
    if (s.localPort === ports.listen) clients++
    else if (ports.upstream.includes(s.remotePort)) upstream++
  }
  return { fds, clients, upstream }
}

/** The soft limit on open files of a process, or null. */
export function openFilesLimit(pid: number, options: ProcOptions = {}): number | null {
  const text = read(join(options.root ?? DEFAULT_ROOT, String(pid), 'limits'))
  const match = text && /^Max open files\s+(\d+)/m.exec(text)
  return match ? Number(match[1]) : null
}

/** Busy and total CPU time of the whole machine so far, in ticks (from /proc/stat). */
export function machineTicks(options: ProcOptions = {}): { busy: number; total: number } | null {
  const line = read(join(options.root ?? DEFAULT_ROOT, 'stat'))?.split('\n')[0]
  if (!line?.startsWith('cpu ')) return null
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
  return { busy: total - f[3] - f[4], total }
}

/** One CPU's time so far, in ticks: all of it, and what the hypervisor gave to other guests (steal). */
export interface CpuTicks {
  readonly total: number
  readonly steal: number
}

/** Every CPU's time so far (the `cpuN` lines of /proc/stat), by CPU number; null where there is no /proc. */
export function cpuTicks(options: ProcOptions = {}): Map<number, CpuTicks> | null {
  const text = read(join(options.root ?? DEFAULT_ROOT, 'stat'))
  if (text === null) return null
  const cpus = new Map<number, CpuTicks>()
  for (const line of text.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line)
    if (!match) continue
    // user nice system idle iowait irq softirq steal (guest time is counted inside user already).
    const f = match[2].trim().split(/\s+/).slice(0, 8).map(Number)
    cpus.set(Number(match[1]), { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 })
  }
  return cpus
}

/** The share of each CPU's time stolen between two readings, in percent; null for a CPU not in both. */
export function stealPercent(
  before: Map<number, CpuTicks> | null,
  after: Map<number, CpuTicks> | null,
  cpu: number,
): number | null {
  const a = before?.get(cpu)
  const b = after?.get(cpu)
  if (!a || !b || b.total <= a.total) return null
  return (100 * (b.steal - a.steal)) / (b.total - a.total)
}
