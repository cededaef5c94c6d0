import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stealWatch } from '../bench/common.ts'
import { cpuTicks, machineTicks, processTree, rssMb, stealPercent } from '../capacity/proc.ts'

// /proc/stat as Linux writes it: the machine's line, then one per CPU (user nice system idle
// iowait irq softirq steal guest guest_nice), in ticks.
function fakeProc(cpu0: number[], cpu1: number[]): string {
  const root = mkdtempSync(join(tmpdir(), 'proc-'))
  mkdirSync(root, { recursive: true })
  const all = cpu0.map((v, i) => v + cpu1[i])
  const line = (name: string, f: number[]) => `${name} ${f.join(' ')} 0 0`
  writeFileSync(
    join(root, 'stat'),
    [line('cpu ', all), line('cpu0', cpu0), line('cpu1', cpu1), 'intr 12345 0 0', 'ctxt 999', ''].join('\n'),
  )
  return root
}

describe('what /proc/stat says about the CPUs', () => {
  it('reads each CPU with its stolen time, and the share stolen between two readings', () => {
    const before = cpuTicks({
      root: fakeProc([100, 0, 50, 800, 10, 0, 5, 35], [200, 0, 100, 700, 0, 0, 0, 0]),
    })
    const after = cpuTicks({
      root: fakeProc([300, 0, 100, 1300, 10, 0, 5, 85], [400, 0, 150, 1450, 0, 0, 0, 0]),
    })
    expect(before?.get(0)).toEqual({ total: 1000, steal: 35 })
    expect(before?.get(1)).toEqual({ total: 1000, steal: 0 })
    expect(before?.has(2)).toBe(false)
    // CPU 0: 50 of its 800 ticks stolen; CPU 1: none of 1,000.
    expect(stealPercent(before, after, 0)).toBeCloseTo(6.25, 10)
    expect(stealPercent(before, after, 1)).toBe(0)
    expect(stealPercent(before, after, 2)).toBeNull()
    expect(stealPercent(null, after, 0)).toBeNull()
    expect(stealPercent(after, after, 0)).toBeNull()
  })

  it("counts the machine's busy time with steal in it, idle and iowait out", () => {
    expect(
      machineTicks({ root: fakeProc([100, 0, 50, 800, 10, 0, 5, 35], [200, 0, 100, 700, 0, 0, 0, 0]) }),
    ).toEqual({
      busy: 490,
      total: 2000,
    })
  })

  it('is null where there is no /proc', () => {
    const empty = mkdtempSync(join(tmpdir(), 'proc-'))
    expect(cpuTicks({ root: empty })).toBeNull()
    expect(machineTicks({ root: empty })).toBeNull()
  })

  it('measures steal over the window a benchmark measured, from its start to its stop', () => {
    const readings = [
      fakeProc([0, 0, 0, 1000, 0, 0, 0, 0], [0, 0, 0, 1000, 0, 0, 0, 0]),
      fakeProc([0, 0, 0, 1900, 0, 0, 0, 100], [0, 0, 0, 2000, 0, 0, 0, 0]),
    ].map((root) => cpuTicks({ root }))
    let next = 0
    const watch = stealWatch([0, 1, 3], () => readings[next++])
    watch.start()
    expect(watch.stop()).toEqual({ 0: 10, 1: 0, 3: null })
  })
})

// /proc/<pid>/{stat,status,task/<pid>/children} of a process tree: RSS in kB per pid (null: a zombie,
// whose status Linux writes without a VmRSS line).
function fakeTree(rssKb: Record<number, number | null>, children: Record<number, number[]>): string {
  const root = mkdtempSync(join(tmpdir(), 'proc-'))
  for (const [pid, kb] of Object.entries(rssKb)) {
    mkdirSync(join(root, pid, 'task', pid), { recursive: true })
    writeFileSync(join(root, pid, 'stat'), `${pid} (node) ${kb === null ? 'Z' : 'S'} 1 0 0`)
    const rss = kb === null ? '' : `VmRSS:\t  ${kb} kB\n`
    writeFileSync(join(root, pid, 'status'), `Name:\tnode\nState:\tS\n${rss}Threads:\t7\n`)
    writeFileSync(join(root, pid, 'task', pid, 'children'), `${(children[Number(pid)] ?? []).join(' ')} `)
  }
  return root
}

describe("what /proc says about the proxy's memory", () => {
  it("adds the workers' RSS to the primary's", () => {
    const root = fakeTree({ 10: 51_200, 11: 102_400, 12: 102_400 }, { 10: [11, 12] })
    const tree = processTree(10, { root })
    expect(tree).toEqual([10, 11, 12])
    expect(rssMb(tree, { root })).toBe(250)
  })

  it('reads no memory, not 0 MB, of a process that exited and is not yet reaped', () => {
    // A zombie keeps its /proc entry (so it is still in the tree) but has no memory left: a sample
    // of 0 MB would pull the run's mean RSS down and hide a leak.
    const root = fakeTree({ 20: null }, {})
    expect(processTree(20, { root })).toEqual([20])
    expect(rssMb([20], { root })).toBeNull()
    expect(rssMb([21], { root })).toBeNull()
    // A worker that exited among live ones counts for nothing; the others are still read.
    const mixed = fakeTree({ 30: 10_240, 31: null }, { 30: [31] })
    expect(rssMb(processTree(30, { root: mixed }), { root: mixed })).toBe(10)
  })
})
