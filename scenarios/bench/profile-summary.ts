// Where a gateway's CPU goes, from a V8 CPU profile (.cpuprofile, as `node --cpu-prof` and the
// proxy's GET /debug/profile write it): self time grouped by component (one of the project's
// files, a package, a part of node, a native binding, V8's own work), read over a time window and
// divided by the requests served in it.

/** The parts of a .cpuprofile this reads. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  /** Monotonic microseconds (CLOCK_MONOTONIC on Linux, as process.hrtime). */
  readonly startTime: number
  readonly endTime: number
  readonly samples: readonly number[]
  /** Microseconds since the previous sample (the first: since startTime). */
  readonly timeDeltas: readonly number[]
}

export interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}

/** V8's pseudo-frames: time not spent in one function. */
export const IDLE = '(idle)'
export const GC = '(garbage collector)'
export const PROGRAM = '(program)'

export interface ProfileSummary {
  /** Sampled time in the window, in microseconds, idle included. */
  readonly sampledUs: number
  /** Of it, time the main thread waited for events. */
  readonly idleUs: number
  /** Self time by component (see componentOf), idle left out. */
  readonly components: ReadonlyMap<string, number>
  /** Self time by function (`name file:line`), idle left out. */
  readonly functions: ReadonlyMap<string, number>
}

/**
 * Which part of the program a frame belongs to: a file of the project (its path from `root`), a
 * package (`npm:undici`), a part of node (`node:http`, `node:streams`), a native binding
 * (`native:writev`: the system call or C++ behind a JavaScript function of node) or one of V8's
 * pseudo-frames (`(garbage collector)`, `(program)`, `(idle)`).
 */
export function componentOf(frame: ProfileNode['callFrame'], root: string): string {
  const { url, functionName } = frame
  if (url === '')
    return functionName.startsWith('(') ? functionName : `native:${functionName || '(anonymous)'}`
  if (url.startsWith('node:')) {
    const first = url
      .slice(5)
      .replace(/^internal\//, '')
      .split('/')[0] as string
    return `node:${first.startsWith('_http') ? 'http' : first.replace(/^_/, '')}`
  }
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url
  const modules = path.lastIndexOf('/node_modules/')
  if (modules !== -1) {
    const parts = path.slice(modules + 14).split('/')
    return `npm:${(parts[0] as string).startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`
  }
  if (path.startsWith('wasm://')) return 'wasm'
  const prefix = root.endsWith('/') ? root : `${root}/`
  return path.startsWith(prefix) ? path.slice(prefix.length) : path
}

/** A span of the profile's clock, in monotonic microseconds: [fromUs, toUs). */
export interface Window {
  readonly fromUs: number
  readonly toUs: number
}

const WHOLE: readonly Window[] = [{ fromUs: Number.NEGATIVE_INFINITY, toUs: Number.POSITIVE_INFINITY }]

/**
 * Self time by component and by function over the samples taken in the windows (monotonic
 * microseconds, the profile's clock; the whole profile by default). A sample stands for the time
 * since the one before it, and counts when that time lies inside one window.
 */
export function summarize(
  profile: CpuProfile,
  root: string,
  windows: readonly Window[] = WHOLE,
): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const components = new Map<string, number>()
  const functions = new Map<string, number>()
  let sampledUs = 0
  let idleUs = 0
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (!windows.some((w) => at - delta >= w.fromUs && at <= w.toUs)) continue
    const node = nodes.get(profile.samples[i] as number)
    if (node === undefined) continue
    sampledUs += delta
    const component = componentOf(node.callFrame, root)
    if (component === IDLE) {
      idleUs += delta
      continue
    }
    add(components, component, delta)
    const { functionName, lineNumber } = node.callFrame
    const where =
      component.startsWith('(') || component.startsWith('native:') ? '' : ` ${component}:${lineNumber + 1}`
    add(functions, `${functionName || '(anonymous)'}${where}`, delta)
  }
  return { sampledUs, idleUs, components, functions }
}

/** Time in the window the main thread was not idle. */
export function busyUs(summary: ProfileSummary): number {
  return summary.sampledUs - summary.idleUs
}

/** The largest entries of `a`, in order, each with its value in `b` too (0 when absent there). */
export function topRows(
  a: ReadonlyMap<string, number>,
  b: ReadonlyMap<string, number> | undefined,
  count: number,
): { name: string; a: number; b: number }[] {
  const names = new Set([...a.keys(), ...(b?.keys() ?? [])])
  return [...names]
    .map((name) => ({ name, a: a.get(name) ?? 0, b: b?.get(name) ?? 0 }))
    .sort((x, y) => y.a - x.a || y.b - x.b)
    .slice(0, count)
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value)
}
