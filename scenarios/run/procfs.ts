// What the kernel says about the processes a run started (Linux /proc), independent of what they
// report about themselves: CPU time and resident memory of a process and its children (a cluster's
// primary and workers), and the children's PIDs (the workers a chaos fault kills, the servers a
// benchmark started).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** CPU time (user + system) a process has used so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
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
