// What the kernel says about the processes a run started (Linux /proc), independent of what they
// report about themselves: CPU time and resident memory of a process and its children (a cluster's
// primary and workers), and the children's PIDs (the workers a chaos fault kills, the servers a
// benchmark started).
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** CPU time (user + system) a process has used so far, in milliseconds: all its threads, live or gone. */
export function cpuMs(pid: number): number {
  return cpuFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
}

/**
 * CPU time (user + system) of each live thread of a process, in milliseconds, by thread id, with
 * the thread's name (node's: MainThread, V8Worker, libuv-worker, v8:ProfEvntProc...).
 */
export function threadCpuMs(pid: number): Map<number, { readonly name: string; readonly ms: number }> {
  const threads = new Map<number, { name: string; ms: number }>()
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return threads
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      threads.set(Number(tid), { name, ms: cpuFromStat(stat) })
    } catch {
      // The thread ended between the listing and the reading.
    }
  }
  return threads
}

function cpuFromStat(stat: string): number {
  // "pid (comm) state ...": comm may hold spaces and parentheses; utime and stime are fields 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS)
}

/** PIDs of the live direct children of `pid` (zombies left out; [] when it is gone). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((child) => !isZombie(child))
  } catch {
    return []
  }
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state ...", comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch {
    return true
  }
}

/** Resident set size of one process in MB, null when it is gone. */
export function rssMb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : null
  } catch {
    return null
  }
}

/** RSS of a process and its live direct children (MB), and their PIDs; null when it is gone. */
export function treeMemory(pid: number): { rssMb: number; children: number[] } | null {
  const own = rssMb(pid)
  if (own === null) return null
  const children = childPids(pid)
  let total = own
  for (const child of children) total += rssMb(child) ?? 0
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
