import { Session } from 'node:inspector/promises'
import { describe, expect, it } from 'vitest'
import {
  busyUs,
  type CpuProfile,
  componentOf,
  type ProfileNode,
  summarize,
  topRows,
} from '../bench/profile-summary.ts'

const ROOT = '/srv/app'
const frame = (url: string, functionName = 'f', lineNumber = 0) => ({ url, functionName, lineNumber })

describe('componentOf', () => {
  it("names the project's files by their path from the root", () => {
    expect(componentOf(frame('file:///srv/app/proxy/src/pipeline/pipeline.ts'), ROOT)).toBe(
      'proxy/src/pipeline/pipeline.ts',
    )
    expect(componentOf(frame('file:///srv/app/my%20dir/a.ts'), ROOT)).toBe('my dir/a.ts')
  })

  it('names a package by its name, scoped or nested in another', () => {
    expect(componentOf(frame('file:///srv/app/node_modules/undici/lib/core/util.js'), ROOT)).toBe(
      'npm:undici',
    )
    expect(componentOf(frame('file:///srv/app/node_modules/@fastify/ajv-compiler/index.js'), ROOT)).toBe(
      'npm:@fastify/ajv-compiler',
    )
    expect(
      componentOf(frame('file:///srv/app/node_modules/fastify/node_modules/find-my-way/index.js'), ROOT),
    ).toBe('npm:find-my-way')
  })

  it("groups node's modules by the part of node they belong to", () => {
    expect(componentOf(frame('node:_http_server'), ROOT)).toBe('node:http')
    expect(componentOf(frame('node:_http_outgoing'), ROOT)).toBe('node:http')
    expect(componentOf(frame('node:internal/streams/readable'), ROOT)).toBe('node:streams')
    expect(componentOf(frame('node:internal/process/task_queues'), ROOT)).toBe('node:process')
    expect(componentOf(frame('node:events'), ROOT)).toBe('node:events')
  })

  it("keeps V8's pseudo-frames and names native bindings", () => {
    expect(componentOf(frame('', '(garbage collector)'), ROOT)).toBe('(garbage collector)')
    expect(componentOf(frame('', '(idle)'), ROOT)).toBe('(idle)')
    expect(componentOf(frame('', 'writev'), ROOT)).toBe('native:writev')
    expect(componentOf(frame('', ''), ROOT)).toBe('native:(anonymous)')
    expect(componentOf(frame('wasm://wasm/00034eea'), ROOT)).toBe('wasm')
  })
})

describe('summarize', () => {
  const nodes: ProfileNode[] = [
    { id: 1, callFrame: frame('', '(root)'), children: [2, 3, 4, 5] },
    { id: 2, callFrame: frame('', '(idle)') },
    { id: 3, callFrame: frame('file:///srv/app/proxy/src/a.ts', 'parse', 9) },
    { id: 4, callFrame: frame('file:///srv/app/node_modules/undici/lib/x.js', 'send', 0) },
    { id: 5, callFrame: frame('', '(garbage collector)') },
  ]
  // Samples at 1000 + 100, 200, ... 1000: each stands for the 100 us before it.
  const profile: CpuProfile = {
    nodes,
    startTime: 1000,
    endTime: 2000,
    samples: [2, 3, 3, 4, 5, 3, 2, 2, 4, 3],
    timeDeltas: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100],
  }

  it('adds self time by component and by function, idle apart', () => {
    const s = summarize(profile, ROOT)
    expect(s.sampledUs).toBe(1000)
    expect(s.idleUs).toBe(300)
    expect(busyUs(s)).toBe(700)
    expect(Object.fromEntries(s.components)).toEqual({
      'proxy/src/a.ts': 400,
      'npm:undici': 200,
      '(garbage collector)': 100,
    })
    expect(s.functions.get('parse proxy/src/a.ts:10')).toBe(400)
    expect(s.functions.get('(garbage collector)')).toBe(100)
  })

  it('reads only the samples whose time lies inside the window', () => {
    // Samples at 1300 .. 1600 cover 1200-1600.
    const s = summarize(profile, ROOT, [{ fromUs: 1200, toUs: 1600 }])
    expect(s.sampledUs).toBe(400)
    expect(Object.fromEntries(s.components)).toEqual({
      'proxy/src/a.ts': 200,
      'npm:undici': 100,
      '(garbage collector)': 100,
    })
    expect(summarize(profile, ROOT, [{ fromUs: 5000, toUs: 6000 }]).sampledUs).toBe(0)
  })

  it('adds up several windows, each sample once', () => {
    // 1000-1200 (samples at 1100, 1200) and 1700-1900 (1800, 1900); overlapping windows count a sample once.
    const s = summarize(profile, ROOT, [
      { fromUs: 1000, toUs: 1200 },
      { fromUs: 1700, toUs: 1900 },
      { fromUs: 1700, toUs: 1800 },
    ])
    expect(s.sampledUs).toBe(400)
    expect(s.idleUs).toBe(200)
    expect(Object.fromEntries(s.components)).toEqual({ 'proxy/src/a.ts': 100, 'npm:undici': 100 })
  })
})

describe('topRows', () => {
  it('orders by the first map, with the second beside it, absent entries at 0', () => {
    const a = new Map([
      ['x', 5],
      ['y', 9],
    ])
    const b = new Map([
      ['x', 1],
      ['z', 3],
    ])
    expect(topRows(a, b, 3)).toEqual([
      { name: 'y', a: 9, b: 0 },
      { name: 'x', a: 5, b: 1 },
      { name: 'z', a: 0, b: 3 },
    ])
    expect(topRows(a, undefined, 1)).toEqual([{ name: 'y', a: 9, b: 0 }])
  })
})

/** Burns CPU in this file for about `ms` milliseconds. */
function spin(ms: number): number {
  let x = 0
  const end = performance.now() + ms
  while (performance.now() < end) for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003
  return x
}

describe('a real profile', () => {
  it("lies on the clock of process.hrtime, and puts a busy function's time in its file", async () => {
    const session = new Session()
    session.connect()
    try {
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 500 })
      await session.post('Profiler.start')
      spin(50)
      const fromUs = Number(process.hrtime.bigint() / 1000n)
      spin(300)
      const toUs = Number(process.hrtime.bigint() / 1000n)
      spin(50)
      const { profile } = await session.post('Profiler.stop')
      const root = process.cwd()
      const s = summarize(profile as CpuProfile, root, [{ fromUs, toUs }])
      // The bench reads a window measured by process.hrtime in another process's profile: the
      // two clocks must agree, or the window would hold none of the samples.
      expect(s.sampledUs).toBeGreaterThan(0.5 * (toUs - fromUs))
      expect(s.sampledUs).toBeLessThanOrEqual(toUs - fromUs)
      const [first] = topRows(s.components, undefined, 1)
      expect(first?.name).toMatch(/profile-summary\.test\.ts$/)
    } finally {
      await session.post('Profiler.disable').catch(() => {})
      session.disconnect()
    }
  })
})
