// scenarios/chaos/<name>.yaml -> a validated, frozen chaos scenario. Every problem is reported at
// once, each named by its field (`phases.1.assert.0.min: ...`), like tiers.yaml. Besides the shape
// (schema.ts) it checks what the shape cannot: phases tiling the run, faults and assertions that need
// a part of the stack the scenario does not start, times that do not fit the timeline.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ProfileError, parseProfile } from '../../mock-providers/src/profile.ts'
import { loadProfile } from '../../mock-providers/src/profile-load.ts'
import type { WeightedScenario } from '../scenario.ts'
import { fewestForPercentile, fewestToShow, pct } from './evidence.ts'
import type { ChaosScenarioBody } from './schema.ts'
import { ScenarioFile } from './schema.ts'

export const CHAOS_DIR = new URL('.', import.meta.url).pathname

export type ChaosScenario = ChaosScenarioBody & {
  readonly name: string
  /** 1 unless the timeline was scaled (chaos:ci, --scale). */
  readonly scale: number
}

export type Issue = { path: string; message: string }

export class ChaosScenarioError extends Error {
  readonly issues: Issue[]
  constructor(source: string, issues: Issue[]) {
    const s = issues.length === 1 ? '' : 's'
    super(
      `invalid chaos scenario ${source} (${issues.length} problem${s}):\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
    )
    this.name = 'ChaosScenarioError'
    this.issues = issues
  }
}

/** Validates a scenario given as YAML text; `name` names it in the report, `source` in errors. */
export function parseScenario(yamlText: string, name: string, source = `${name}.yaml`): ChaosScenario {
  let raw: unknown
  try {
    raw = parseYaml(yamlText)
  } catch (error) {
    throw new ChaosScenarioError(source, [
      { path: '(root)', message: `not YAML: ${(error as Error).message}` },
    ])
  }
  const result = ScenarioFile.safeParse(raw)
  if (!result.success) {
    throw new ChaosScenarioError(
      source,
      result.error.issues.map((i) => ({
        path: i.path.map(String).join('.') || '(root)',
        message: i.message,
      })),
    )
  }
  const scenario = { ...result.data, name, scale: 1 }
  const issues = [...crossCheck(scenario), ...profileIssues(scenario)]
  if (issues.length > 0) throw new ChaosScenarioError(source, issues)
  return deepFreeze(scenario)
}

/** A scenario by name (scenarios/chaos/<name>.yaml) or by path. */
export function loadScenario(nameOrPath: string): ChaosScenario {
  const byName = /^[a-z0-9][a-z0-9-]*$/.test(nameOrPath)
  const file = byName ? join(CHAOS_DIR, `${nameOrPath}.yaml`) : nameOrPath
  if (!existsSync(file)) {
    const known = listScenarios().join(', ')
    throw new ChaosScenarioError(nameOrPath, [
      { path: '(name)', message: `no such scenario; known: ${known}` },
    ])
  }
  return parseScenario(readFileSync(file, 'utf8'), basename(file).replace(/\.ya?ml$/, ''), file)
}

/** The catalogue: every scenario file's name, sorted. */
export function listScenarios(dir = CHAOS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort()
}

/**
 * The timeline at another time scale: the run and its phases scale; rates, deadlines, `after` offsets
 * and the breaker and drain bounds do not (they follow the proxy's own timers, which do not scale).
 * Throws when the scaled timeline no longer leaves room for its assertions.
 */
export function scaleScenario(scenario: ChaosScenario, scale: number): ChaosScenario {
  if (!(scale > 0)) throw new RangeError(`time scale must be > 0, got ${scale}`)
  if (scale === 1) return scenario
  const scaled: ChaosScenario = {
    ...scenario,
    scale: scenario.scale * scale,
    load: { ...scenario.load, duration: scenario.load.duration * scale },
    phases: scenario.phases.map((p) => ({ ...p, start: p.start * scale, end: p.end * scale })),
  }
  const issues = crossCheck(scaled)
  if (issues.length > 0) throw new ChaosScenarioError(`${scenario.name} at time scale ${scale}`, issues)
  return deepFreeze(scaled)
}

/** chat split into chat and chat-stream by stream_share; the other kinds as weighted. */
export function chaosMix(load: ChaosScenarioBody['load']): WeightedScenario[] {
  const mix: WeightedScenario[] = []
  const chat = load.mix.chat ?? 0
  if (chat > 0 && load.stream_share < 1) mix.push({ name: 'chat', weight: chat * (1 - load.stream_share) })
  if (chat > 0 && load.stream_share > 0) mix.push({ name: 'chat-stream', weight: chat * load.stream_share })
  for (const name of ['models', 'condense'] as const) {
    const weight = load.mix[name] ?? 0
    if (weight > 0) mix.push({ name, weight })
  }
  return mix
}

/** What the schema cannot see: the timeline, and what each fault and assertion needs. */
export function crossCheck(s: ChaosScenarioBody): Issue[] {
  const issues: Issue[] = []
  const add = (path: (string | number)[], message: string) => issues.push({ path: path.join('.'), message })
  const names = new Set<string>()
  let previousEnd = 0
  s.phases.forEach((phase, i) => {
    const at = ['phases', i]
    if (names.has(phase.name)) add([...at, 'name'], `phase '${phase.name}' is named twice`)
    names.add(phase.name)
    if (Math.abs(phase.start - previousEnd) > 1e-9)
      add([...at, 'start'], `must be ${previousEnd} s, where the previous phase ends (phases tile the run)`)
    if (phase.end <= phase.start) add([...at, 'end'], 'must be after start')
    previousEnd = phase.end
    const seen = new Set<string>()
    phase.faults.forEach((fault, j) => {
      const path = [...at, 'faults', j]
      const key = `${fault.kind}:${'provider' in fault ? fault.provider : ''}`
      if (fault.kind === 'mock' && seen.has(key))
        add(path, `two mock faults for ${fault.provider} in one phase: put them in one list`)
      seen.add(key)
      if (fault.kind === 'network' && !s.toxiproxy) add(path, 'network faults need toxiproxy: true')
      if (fault.kind === 'kill_worker' && s.proxy.workers < 2)
        add(path, 'kill_worker needs proxy.workers >= 2 (cluster mode)')
      if (fault.kind === 'kill_worker' && fault.count > s.proxy.workers)
        add([...path, 'count'], `only ${s.proxy.workers} workers run`)
      if (fault.kind === 'rolling_restart' && s.proxy.instances < 2)
        add(path, 'rolling_restart needs proxy.instances >= 2 (a second instance takes the traffic)')
      if (fault.kind === 'rolling_restart' && fault.instance >= s.proxy.instances)
        add([...path, 'instance'], `instances are numbered from 0 to ${s.proxy.instances - 1}`)
      if (fault.kind === 'redis_down' && !s.redis) add(path, 'redis_down needs redis: true')
    })
    phase.assert.forEach((a, j) => {
      const path = [...at, 'assert', j]
      const length = phase.end - phase.start
      if ('after' in a && a.after >= length)
        add([...path, 'after'], `${round(a.after)} s leaves nothing of a ${round(length)} s phase`)
      if (
        a.kind === 'latency' &&
        a.relative_to !== undefined &&
        !s.phases.some((p) => p.name === a.relative_to)
      )
        add([...path, 'relative_to'], `no phase named '${a.relative_to}'`)
      if (a.kind === 'breaker' && a.closes_within !== undefined) {
        const left = s.load.duration - phase.end
        if (left < a.closes_within)
          add(
            [...path, 'closes_within'],
            `only ${round(left)} s of the run are left after this phase to see it close`,
          )
      }
      if (a.kind === 'drain' && !phase.faults.some((f) => f.kind === 'rolling_restart'))
        add(path, 'drain judges a rolling_restart of the same phase')
      if (a.kind === 'workers' && s.proxy.workers < 2) add(path, 'workers needs proxy.workers >= 2')
      for (const [field, problem] of evidenceIssues(s, phase, a)) add([...path, field], problem)
      if (a.kind === 'health' && a.endpoint === '/health/providers' && a.check)
        add([...path, 'check'], '/health/providers has no checks: use provider, or endpoint /health')
    })
  })
  if (s.phases.length > 0 && Math.abs(previousEnd - s.load.duration) > 1e-9)
    add(['phases', s.phases.length - 1, 'end'], `must be load.duration (${round(s.load.duration)} s)`)
  return issues
}

type Phase = ChaosScenarioBody['phases'][number]

/**
 * Whether a window's planned requests can show what an assertion claims: the requests its arrivals
 * place there (the phase's rate over the window, the share of the named scenarios) must reach
 * `fewest` with a tenth to spare (for requests refused for retry, failures counted where they ended,
 * requests of another kind than judged). Null when they do, else what is missing.
 */
function tooFewPlanned(
  s: ChaosScenarioBody,
  phase: Phase,
  afterS: number,
  scenarios: readonly string[] | undefined,
  fewest: number,
  claim: string,
): string | null {
  const mix = chaosMix(s.load)
  const total = mix.reduce((sum, m) => sum + m.weight, 0)
  const named = scenarios ? mix.filter((m) => scenarios.includes(m.name)) : mix
  const share = total > 0 ? named.reduce((sum, m) => sum + m.weight, 0) / total : 0
  const rate = (phase.rate ?? s.load.rate) * share
  const windowS = phase.end - phase.start - afterS
  const needed = Math.ceil(fewest * 1.1 - 1e-9)
  if (windowS <= 0 || rate * windowS >= needed) return null
  const of = scenarios ? ` of ${scenarios.join(', ')}` : ''
  if (rate === 0) return `the load sends no request${of}: ${claim} takes ${fewest}`
  return `${round(windowS)} s at ${round(rate)} req/s${of} is about ${Math.floor(rate * windowS)} requests; ${claim} takes ${fewest}, ${needed} with a tenth to spare: ${round(needed / rate)} s at this rate. Lengthen the window or raise the rate`
}

/** The planned-evidence checks of the assertions that judge a share or a percentile of requests. */
function evidenceIssues(s: ChaosScenarioBody, phase: Phase, a: Phase['assert'][number]): [string, string][] {
  if (a.kind === 'success_rate') {
    const claim = `showing ${pct(a.min)} (with fewer, one failure breaches it)`
    const problem = tooFewPlanned(s, phase, a.after, a.scenarios, fewestToShow(a.min), claim)
    return problem ? [['min', problem]] : []
  }
  if (a.kind !== 'latency') return []
  const fewest = fewestForPercentile(a.percentile)
  const claim = `a p${a.percentile} (with fewer, it is their largest)`
  const out: [string, string][] = []
  const own = tooFewPlanned(s, phase, a.after, a.scenarios, fewest, claim)
  if (own) out.push(['percentile', own])
  const ref = s.phases.find((p) => p.name === a.relative_to)
  const other = ref && tooFewPlanned(s, ref, 0, a.scenarios, fewest, claim)
  if (other) out.push(['relative_to', `${a.relative_to}: ${other}`])
  return out
}

function profileIssues(s: ChaosScenarioBody): Issue[] {
  try {
    if (typeof s.mocks.profile === 'string') loadProfile(s.mocks.profile)
    else parseProfile(s.mocks.profile)
    return []
  } catch (error) {
    if (!(error instanceof ProfileError)) throw error
    return error.issues.map((message) => ({ path: 'mocks.profile', message }))
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
