import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stealWatch } from '../bench/common.ts'
import { cpuTicks, machineTicks, stealPercent } from '../capacity/proc.ts'

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
