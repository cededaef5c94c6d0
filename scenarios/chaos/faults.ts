// Turns a phase's faults on when it begins and off when it ends, through the real fault sources: the
// mocks' control API, toxiproxy's API, signals to the proxy's processes, redis-server stopped and
// started. Every action is an event on the run's timeline; an action that fails breaks the run (its
// assertions would judge a fault that never happened).

import { childPids } from '../run/procfs.ts'
import { HostileClients } from './hostile.ts'
import { callJson } from './http-json.ts'
import type { ChaosFault, ChaosPhase, Provider } from './schema.ts'
import type { ChaosStack } from './stack.ts'

export type RunEvent = {
  readonly t: number
  readonly kind: 'fault' | 'process' | 'note'
  readonly text: string
}

export type DrainRecord = {
  readonly phase: string
  readonly instance: string
  readonly sigtermAtS: number
  exitedAtS: number | null
  code: number | null
  signal: string | null
}

type Profile = { latency?: Record<string, unknown>; faults?: unknown[] } & Record<string, unknown>

/** Workers a fault killed, and when. */
export type KillRecord = { readonly t: number; readonly pids: readonly number[] }

export class FaultDriver {
  readonly events: RunEvent[] = []
  readonly drains: DrainRecord[] = []
  readonly kills: KillRecord[] = []
  readonly failures: string[] = []
  readonly #stack: ChaosStack
  readonly #now: () => number
  readonly #base = new Map<Provider, Profile>()
  readonly #background = new Set<Promise<void>>()
  readonly #hostile = new Map<string, HostileClients>()
  readonly #model: string

  /** `model`: the one hostile clients name (the load's first). */
  constructor(stack: ChaosStack, now: () => number, model: string) {
    this.#stack = stack
    this.#now = now
    this.#model = model
  }

  /** Remembers each mock's start-up profile, the one every phase returns to. */
  async prepare(): Promise<void> {
    for (const [provider, url] of Object.entries(this.#stack.mocks) as [Provider, string][]) {
      this.#base.set(provider, (await control(url, 'GET', 'profile')) as Profile)
    }
  }

  async begin(phase: ChaosPhase): Promise<void> {
    this.#event('note', `phase ${phase.name} begins`)
    for (const [i, fault] of phase.faults.entries()) await this.#guard(fault, () => this.#on(phase, i, fault))
  }

  async end(phase: ChaosPhase): Promise<void> {
    for (const [i, fault] of phase.faults.entries())
      await this.#guard(fault, () => this.#off(phase, i, fault))
  }

  /** Waits for what runs in the background (a rolling restart's drain); stops hostile clients a run cut short left running. */
  async settle(): Promise<void> {
    await Promise.all([...this.#background])
    for (const [key, clients] of this.#hostile) {
      this.#hostile.delete(key)
      await clients.stop()
    }
  }

  async #on(phase: ChaosPhase, i: number, fault: ChaosFault): Promise<void> {
    const stack = this.#stack
    switch (fault.kind) {
      case 'mock': {
        const base = this.#base.get(fault.provider)!
        const profile: Profile = {
          ...base,
          name: `${base.name ?? 'base'}+${phase.name}`,
          latency: fault.latency_multiplier
            ? scaleLatency(base.latency ?? {}, fault.latency_multiplier)
            : base.latency,
          faults: [...(base.faults ?? []), ...fault.faults],
        }
        await control(stack.mocks[fault.provider], 'PUT', 'profile', profile)
        return this.#event('fault', describeFault(fault))
      }
      case 'network': {
        const toxiproxy = stack.toxiproxy!
        if (fault.down) await toxiproxy.setEnabled(fault.provider, false)
        for (const stream of streams(fault.stream)) {
          if (!fault.toxic) break
          await toxiproxy.addToxic(fault.provider, {
            name: toxicName(phase, i, stream),
            type: fault.toxic,
            stream,
            toxicity: fault.toxicity,
            attributes: fault.attributes as Record<string, number>,
          })
        }
        return this.#event('fault', describeFault(fault))
      }
      case 'kill_worker': {
        const primary = stack.instances[0]
        const workers = childPids(primary.process.pid).slice(0, fault.count)
        if (workers.length < fault.count)
          throw new Error(`${primary.name} has ${workers.length} workers to kill`)
        for (const pid of workers) process.kill(pid, fault.signal)
        this.kills.push({ t: this.#now() / 1000, pids: workers })
        return this.#event(
          'process',
          `${fault.signal} to worker pid ${workers.join(', ')} of ${primary.name}`,
        )
      }
      case 'rolling_restart':
        return this.#rollingRestart(phase, fault.instance)
      case 'hostile_prompts': {
        const spec = { ...fault, model: this.#model }
        this.#hostile.set(`${phase.name}-${i}`, new HostileClients(spec, stack.targetUrl, stack.apiKey))
        return this.#event('fault', describeFault(fault))
      }
      case 'redis_down': {
        const redis = stack.redis!
        if (fault.mode === 'pause') redis.pause()
        else await redis.down()
        return this.#event(
          'process',
          fault.mode === 'pause' ? 'redis paused (SIGSTOP)' : 'redis stopped (SIGTERM)',
        )
      }
    }
  }

  async #off(phase: ChaosPhase, i: number, fault: ChaosFault): Promise<void> {
    const stack = this.#stack
    switch (fault.kind) {
      case 'mock':
        await control(stack.mocks[fault.provider], 'PUT', 'profile', this.#base.get(fault.provider))
        return this.#event('fault', `${fault.provider}: back to its start-up profile`)
      case 'network': {
        const toxiproxy = stack.toxiproxy!
        if (fault.down) await toxiproxy.setEnabled(fault.provider, true)
        if (fault.toxic)
          for (const stream of streams(fault.stream))
            await toxiproxy.removeToxic(fault.provider, toxicName(phase, i, stream))
        return this.#event('fault', `link to ${fault.provider}: healed`)
      }
      case 'hostile_prompts': {
        const clients = this.#hostile.get(`${phase.name}-${i}`)
        this.#hostile.delete(`${phase.name}-${i}`)
        return this.#event('fault', `hostile clients stopped: ${await clients?.stop()}`)
      }
      case 'redis_down': {
        const redis = stack.redis!
        if (fault.mode === 'pause') redis.resume()
        else await redis.up()
        return this.#event(
          'process',
          fault.mode === 'pause' ? 'redis resumed (SIGCONT)' : 'redis started again',
        )
      }
      default:
        return
    }
  }

  /** Rolling update with a surge: the replacement serves first, then the old instance gets SIGTERM. */
  #rollingRestart(phase: ChaosPhase, slot: number): void {
    const stack = this.#stack
    const old = stack.instances[slot]
    const work = (async () => {
      const fresh = await stack.replace(slot)
      this.#event('process', `${fresh.name} (pid ${fresh.process.pid}) ready and in rotation`)
      // As an orchestrator does: out of rotation and SIGTERM at once; open connections stay with it.
      stack.balancer?.remove(old.name)
      const drain: DrainRecord = {
        phase: phase.name,
        instance: old.name,
        sigtermAtS: this.#now() / 1000,
        exitedAtS: null,
        code: null,
        signal: null,
      }
      this.drains.push(drain)
      this.#event('process', `SIGTERM to ${old.name} (pid ${old.process.pid})`)
      const exit = await old.process.stop((stack.shutdownTimeoutS + 10) * 1000)
      drain.exitedAtS = this.#now() / 1000
      drain.code = exit.code
      drain.signal = exit.signal
      this.#event('process', `${old.name} exited (${exit.signal ?? `code ${exit.code}`})`)
    })().catch((error: Error) => {
      this.failures.push(`rolling restart of ${old.name}: ${error.message}`)
    })
    this.#background.add(work)
  }

  async #guard(fault: ChaosFault, action: () => Promise<void> | void): Promise<void> {
    try {
      await action()
    } catch (error) {
      const message = `${fault.kind} fault: ${(error as Error).message}`
      this.failures.push(message)
      this.#event('note', `FAILED: ${message}`)
    }
  }

  #event(kind: RunEvent['kind'], text: string): void {
    this.events.push({ t: Math.round(this.#now()) / 1000, kind, text })
  }
}

/** What a fault does, in a few words (events, the report's phase table). */
export function describeFault(fault: ChaosFault): string {
  switch (fault.kind) {
    case 'mock': {
      const parts = fault.faults.map((f) => {
        const { type, rate, ...rest } = f as { type: string; rate?: number }
        const fields = Object.entries(rest).map(([k, v]) => `${k} ${JSON.stringify(v)}`)
        return `${type}${rate === undefined ? '' : ` ${Math.round(rate * 1000) / 10} %`}${fields.length ? ` (${fields.join(', ')})` : ''}`
      })
      if (fault.latency_multiplier) parts.push(`latency \u00d7${fault.latency_multiplier}`)
      return `${fault.provider}: mock ${parts.join(', ')}`
    }
    case 'network': {
      if (fault.down) return `link to ${fault.provider}: down`
      const attrs = Object.entries(fault.attributes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
      const share = fault.toxicity < 1 ? ` on ${Math.round(fault.toxicity * 100)} % of connections` : ''
      return `link to ${fault.provider}: toxiproxy ${fault.toxic} (${attrs}) ${fault.stream}${share}`
    }
    case 'kill_worker':
      return `${fault.signal} to ${fault.count} proxy worker${fault.count > 1 ? 's' : ''}`
    case 'rolling_restart':
      return `rolling restart of proxy instance ${fault.instance} (SIGTERM, second instance serving)`
    case 'redis_down':
      return fault.mode === 'pause' ? 'redis paused (SIGSTOP)' : 'redis stopped, started again at the end'
    case 'hostile_prompts': {
      const clients = `${fault.clients} client${fault.clients > 1 ? 's' : ''}`
      if (fault.text === 'deep_json' || fault.text === 'wide_json') {
        const what =
          fault.text === 'deep_json' ? 'JSON arrays nested as deep as they fit' : 'empty JSON objects'
        return `${clients} sending requests of ${fault.size_kb} KiB of ${what} to ${fault.route}, back to back`
      }
      const what = fault.text === 'one_word' ? 'one word' : 'base64'
      return `${clients} sending prompts of ${fault.size_kb} KiB of ${what} to ${fault.route}, back to back`
    }
  }
}

/** Every duration of a latency model (ms) times `factor`; shapes (sigma, tails) unchanged. */
export function scaleLatency(latency: Record<string, unknown>, factor: number): Record<string, unknown> {
  const scaleDist = (d: unknown) => {
    if (typeof d === 'number') return d * factor
    if (!d || typeof d !== 'object') return d
    const out: Record<string, unknown> = { ...(d as Record<string, unknown>) }
    for (const key of ['value', 'min', 'max', 'mean', 'stddev', 'median'])
      if (typeof out[key] === 'number') out[key] = (out[key] as number) * factor
    return out
  }
  return Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, scaleDist(v)]))
}

function control(base: string, method: 'GET' | 'PUT', route: string, body?: unknown): Promise<unknown> {
  return callJson(`${base}/__mock/${route}`, method, body)
}

function streams(stream: 'downstream' | 'upstream' | 'both'): ('downstream' | 'upstream')[] {
  return stream === 'both' ? ['downstream', 'upstream'] : [stream]
}

function toxicName(phase: ChaosPhase, i: number, stream: string): string {
  return `${phase.name}-${i}-${stream}`
}
