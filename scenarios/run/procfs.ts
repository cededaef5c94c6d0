// What the kernel says about the processes a run started (Linux /proc), independent of what they
// report about themselves: CPU time and resident memory of a process and its children (a cluster's
// primary and workers), and the children's PIDs (the workers a chaos fault kills, the servers a
// benchmark started). The one reader of a process's /proc entries: capacity/proc.ts sums these over
// a process tree. Every reader takes the /proc root as an option, so tests feed it a fake tree.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Where /proc is (tests give a fake tree), and its clock's ticks a second. */
export type ProcOptions = { readonly root?: string; readonly clockTicks?: number }

const DEFAULT_ROOT = '/proc'
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100

/** A file under /proc/<pid>, or null when it cannot be read (the process is gone). */
function procFile(pid: number, file: string, options: ProcOptions): string | null {
  try {
    return readFileSync(join(options.root ?? DEFAULT_ROOT, String(pid), file), 'utf8')
  } catch {
    return null
  }
}

/** A stat line's state and CPU time (user + system) in ms. */
function parseStat(stat: string, options: ProcOptions): { readonly state: string; readonly ms: number } {
  // "pid (comm) state ...": comm may hold spaces and parentheses; utime and stime are fields 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return { state: fields[0], ms: ticks * (1000 / (options.clockTicks ?? CLOCK_TICKS)) }
}

/** A process's state (R, S, Z...) and the CPU time it has used so far (all its threads), or null when it is gone. */
export function processStat(
  pid: number,
  options: ProcOptions = {},
): { readonly state: string; readonly ms: number } | null {
  const stat = procFile(pid, 'stat', options)
  return stat === null ? null : parseStat(stat, options)
}

/** CPU time (user + system) a process has used so far, in milliseconds: all its threads, live or gone. */
export function cpuMs(pid: number, options: ProcOptions = {}): number {
  const stat = processStat(pid, options)
  if (stat === null) throw new Error(`process ${pid} is gone: no CPU time to read`)
  return stat.ms
}

/**
 * CPU time (user + system) of each live thread of a process, in milliseconds, by thread id, with
 * the thread's name (node's: MainThread, V8Worker, libuv-worker, v8:ProfEvntProc...).
 */
export function threadCpuMs(
  pid: number,
  options: ProcOptions = {},
): Map<number, { readonly name: string; readonly ms: number }> {
  const threads = new Map<number, { name: string; ms: number }>()
  let tids: string[]
  try {
    tids = readdirSync(join(options.root ?? DEFAULT_ROOT, String(pid), 'task'))
  } catch {
    return threads
  }
  for (const tid of tids) {
    const stat = procFile(pid, join('task', tid, 'stat'), options)
    // null: the thread ended between the listing and the reading.
    if (stat === null) continue
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    threads.set(Number(tid), { name, ms: parseStat(stat, options).ms })
  }
  return threads
}

/** PIDs of the direct children of `pid`, zombies included ([] when it is gone). */
export function childrenOf(pid: number, options: ProcOptions = {}): number[] {
  const text = procFile(pid, join('task', String(pid), 'children'), options)
  return text?.trim().split(/\s+/).filter(Boolean).map(Number) ?? []
}

/** PIDs of the live direct children of `pid` (zombies left out; [] when it is gone). */
export function childPids(pid: number, options: ProcOptions = {}): number[] {
  return childrenOf(pid, options).filter((child) => {
    const stat = processStat(child, options)
    return stat !== null && stat.state !== 'Z'
  })
}

/**
 * Resident set size of one process in MB; null when it is gone, or a zombie not yet reaped (its
 * status has no VmRSS line), which a mean or a peak must not read as 0 MB.
 */
export function rssMb(pid: number, options: ProcOptions = {}): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(procFile(pid, 'status', options) ?? '')
  return match ? Number(match[1]) / 1024 : null
}

/** RSS of a process and its live direct children (MB), and their PIDs; null when it is gone. */
export function treeMemory(
  pid: number,
  options: ProcOptions = {},
): { rssMb: number; children: number[] } | null {
  const own = rssMb(pid, options)
  if (own === null) return null
  const children = childPids(pid, options)
  let total = own
  for (const child of children) total += rssMb(child, options) ?? 0
  return { rssMb: Math.round(total * 10) / 10, children }
}

/** One reading of a RssTrack: seconds since it started, and the tree's RSS in MB. */
export interface RssSample {
  readonly seconds: number
  readonly value: number
}

/**
 * The RSS of a process tree (treeMemory) read every `everyMs` until stopped. Nothing is read
 * before `pid()` names a running process (0 until then), nor once it has exited: a process that is
 * gone is not a reading of 0 MB, which at the end of a trend would drag its slope down and hide
 * growth.
 */
export class RssTrack {
  readonly samples: RssSample[] = []
  readonly #timer: NodeJS.Timeout

  constructor(pid: () => number, everyMs: number, now: () => number = () => performance.now()) {
    const t0 = now()
    this.#timer = setInterval(() => {
      const p = pid()
      const tree = p ? treeMemory(p) : null
      // 0 MB: a process still being started (its program not yet loaded), not a reading either.
      if (tree !== null && tree.rssMb > 0)
        this.samples.push({ seconds: (now() - t0) / 1000, value: tree.rssMb })
    }, everyMs)
  }

  stop(): RssSample[] {
    clearInterval(this.#timer)
    return this.samples
  }
}
