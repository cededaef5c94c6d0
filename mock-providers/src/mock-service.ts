import { type ActiveProfile, activateProfile } from './active-profile.ts'
import { anthropicWire } from './anthropic-wire.ts'
import { type Clock, systemClock, systemTimers, type Timers } from './clock.ts'
import type { Controllable } from './control.ts'
import { type IncomingCall, overflowPlan, type PlanContext, planResponse } from './core.ts'
import { ConcurrencyLimiter, type Waiter } from './limiter.ts'
import { openaiWire } from './openai-wire.ts'
import { ParseCache } from './parse-cache.ts'
import type { ResponsePlan } from './plan.ts'
import { ProfileError } from './profile.ts'
import { isProfileName, loadProfile } from './profile-load.ts'
import type { Profile } from './profile-schema.ts'
import { createRandom } from './random.ts'
import { MockStats, type Outcome, type StatsSnapshot } from './stats.ts'
import type { TimelineEntry } from './timeline.ts'
import { TokenCounter } from './tokens.ts'
import type { Wire, WireName } from './wire.ts'

export interface MockServiceOptions {
  wire: WireName
  profile: Profile
  /** Seeds the mock's one PRNG (fault and latency dice) and its content; default: the profile's seed, else 1. */
  seed?: number
  clock?: Clock
  timers?: Timers
  /** Profile names used by PUT /__mock/profile and timelines; default: profiles/<name>.yaml. */
  resolveProfile?: (name: string) => Profile
}

/** A running exchange of an adapter; start() is called when its queued plan gets a slot. */
export type Runner = Waiter

const WIRES: Readonly<Record<WireName, Wire>> = { openai: openaiWire, anthropic: anthropicWire }

function defaultResolve(name: string): Profile {
  if (!isProfileName(name)) throw new ProfileError([`(root): '${name}' is not a profile name`])
  return loadProfile(name)
}

class TimelineTimer {
  handle: unknown = null
  readonly service: MockService
  readonly profile: Profile

  constructor(service: MockService, profile: Profile) {
    this.service = service
    this.profile = profile
  }
}

function fireTimeline(timer: TimelineTimer): void {
  timer.service.timelineFired(timer)
}

/**
 * One mock provider's runtime, shared by both adapters: the active profile, the seeded random,
 * fault counters, statistics, the concurrency limiter and the timeline. Adapters call
 * plan() -> dispatch() -> (execute the plan) -> settle().
 */
export class MockService implements Controllable {
  readonly wire: Wire
  readonly clock: Clock
  readonly timers: Timers
  readonly seed: number
  readonly #startup: Profile
  readonly #resolve: (name: string) => Profile
  readonly #limiter = new ConcurrencyLimiter()
  readonly #timeline = new Set<TimelineTimer>()
  readonly #ctx: PlanContext
  #stats = new MockStats()
  #epoch: number

  constructor(options: MockServiceOptions) {
    this.wire = WIRES[options.wire]
    this.clock = options.clock ?? systemClock
    this.timers = options.timers ?? systemTimers
    this.seed = options.seed ?? options.profile.seed ?? 1
    this.#startup = options.profile
    this.#resolve = options.resolveProfile ?? defaultResolve
    this.#epoch = this.clock.now()
    const active = activateProfile(options.profile)
    this.#ctx = {
      wire: this.wire,
      active,
      random: createRandom(this.seed),
      faultCounters: new Array<number>(active.faultCount).fill(0),
      seed: this.seed,
      elapsedMs: 0,
      epochMs: 0,
      requestIndex: 0,
      tokens: new TokenCounter(),
      parsed: new ParseCache(),
    }
    this.#configureLimiter(active)
  }

  /** Runs the core for one API request (the context object is reused: no allocation here). */
  plan(call: IncomingCall): ResponsePlan {
    const ctx = this.#ctx
    ctx.elapsedMs = this.clock.now() - this.#epoch
    ctx.epochMs = this.clock.epochMs()
    ctx.requestIndex++
    return planResponse(call, ctx)
  }

  /** The plan to run now (the overflow answer when the queue is full), or null: queued, runner.start() follows. */
  dispatch(plan: ResponsePlan, runner: Runner): ResponsePlan | null {
    let run = plan
    if (plan.limited && this.#limiter.enabled) {
      const verdict = this.#limiter.acquire(runner)
      if (verdict === 'full') {
        this.#stats.overflowed++
        run = overflowPlan(this.wire, plan.route, this.#ctx.active.profile.concurrency.overflow_status)
      } else if (verdict === 'queued') {
        this.#stats.dispatched(plan)
        return null
      }
    }
    this.#stats.dispatched(run)
    return run
  }

  /** Once per dispatched plan: frees its slot (or its place in the queue) and counts the outcome. */
  settle(plan: ResponsePlan, runner: Runner, outcome: Outcome): void {
    if (plan.limited) this.#limiter.release(runner)
    this.#stats.settled(outcome)
  }

  stats(): StatsSnapshot {
    return this.#stats.snapshot(this.wire.name, this.#ctx.active.profile.name, {
      depth: this.#limiter.queued,
      active: this.#limiter.active,
    })
  }

  profile(): Profile {
    return this.#ctx.active.profile
  }

  /** Applies to requests planned from now on; fault counters restart for the new fault list. */
  setProfile(profile: Profile): void {
    const active = activateProfile(profile)
    this.#ctx.active = active
    this.#ctx.faultCounters = new Array<number>(active.faultCount).fill(0)
    this.#configureLimiter(active)
  }

  /** Start-up profile back, counters to zero, timeline cleared, random reseeded, fault windows restart. */
  reset(): void {
    this.#clearTimeline()
    this.setProfile(this.#startup)
    this.#ctx.random = createRandom(this.seed)
    this.#ctx.requestIndex = 0
    this.#epoch = this.clock.now()
    const inFlight = this.#stats.inFlight
    this.#stats = new MockStats()
    this.#stats.inFlight = inFlight
  }

  schedule(entries: readonly TimelineEntry[]): void {
    for (const entry of entries) {
      const timer = new TimelineTimer(this, entry.profile)
      timer.handle = this.timers.setTimeout(fireTimeline, entry.atMs, timer)
      ;(timer.handle as { unref?: () => void } | null)?.unref?.()
      this.#timeline.add(timer)
    }
  }

  /** @internal called by a timeline timer. */
  timelineFired(timer: TimelineTimer): void {
    if (this.#timeline.delete(timer)) this.setProfile(timer.profile)
  }

  resolveProfile(name: string): Profile {
    return this.#resolve(name)
  }

  /** Stops the timeline and drops queued waiters (their adapter closes their connections). */
  close(): void {
    this.#clearTimeline()
    this.#limiter.clear()
  }

  #clearTimeline(): void {
    for (const timer of this.#timeline) this.timers.clearTimeout(timer.handle)
    this.#timeline.clear()
  }

  #configureLimiter(active: ActiveProfile): void {
    const { limit, queue } = active.profile.concurrency
    this.#limiter.configure(limit, queue)
  }
}
