import { request } from 'undici'

// The proxy's garbage collection over a benchmark's measured runs, as its /metrics/prometheus
// counts it (prom-client's nodejs_gc_duration_seconds, by kind of collection). What it tells: a
// request whose objects outlive it (still referenced, or kept by something old) is copied by every
// young collection it meets and then promoted, so young collections grow long and full ones
// frequent.
// A proxy that adds a few milliseconds at the tail this way shows it here first: young
// collections of 4 to 6 ms and a full one every few seconds at 1,000 streams/s, where the same
// proxy without the defect collected in about 1 ms, and fully once in minutes.

/** Collections of one kind: how many, and their pauses' total. */
export interface GcKind {
  readonly count: number
  readonly seconds: number
}

/** V8's kinds as node reports them: young (scavenge), full (mark-compact), and the steps of incremental marking. */
export interface GcTally {
  readonly minor: GcKind
  readonly major: GcKind
  readonly incremental: GcKind
}

const KINDS = ['minor', 'major', 'incremental'] as const

/** The tally so far in a /metrics text (zero for a kind not yet seen). */
export function parseGcTally(text: string): GcTally {
  const read = (kind: string, part: 'count' | 'sum'): number => {
    const line = new RegExp(
      `^nodejs_gc_duration_seconds_${part}\\{[^}]*kind="${kind}"[^}]*\\} (\\S+)$`,
      'm',
    ).exec(text)
    return line ? Number(line[1]) : 0
  }
  const kind = (k: string): GcKind => ({ count: read(k, 'count'), seconds: read(k, 'sum') })
  return { minor: kind('minor'), major: kind('major'), incremental: kind('incremental') }
}

/** The proxy's tally now (GET /metrics/prometheus, which is public). */
export async function gcTally(proxyUrl: string): Promise<GcTally> {
  const res = await request(`${proxyUrl}/metrics/prometheus`)
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`GET /metrics/prometheus answered ${res.statusCode}`)
  return parseGcTally(text)
}

function between(before: GcTally, after: GcTally): GcTally {
  const span = (k: (typeof KINDS)[number]): GcKind => ({
    count: after[k].count - before[k].count,
    seconds: after[k].seconds - before[k].seconds,
  })
  return { minor: span('minor'), major: span('major'), incremental: span('incremental') }
}

function add(a: GcTally, b: GcTally): GcTally {
  const sum = (k: (typeof KINDS)[number]): GcKind => ({
    count: a[k].count + b[k].count,
    seconds: a[k].seconds + b[k].seconds,
  })
  return { minor: sum('minor'), major: sum('major'), incremental: sum('incremental') }
}

const NONE: GcKind = { count: 0, seconds: 0 }

/**
 * The proxy's collections over the runs it is asked to measure, added up. The tally is read
 * between runs, never during one (reading /metrics costs the proxy a little CPU).
 */
export class GcWatch {
  readonly #url: string
  #gc: GcTally = { minor: NONE, major: NONE, incremental: NONE }
  #seconds = 0
  #requests = 0

  constructor(proxyUrl: string) {
    this.#url = proxyUrl
  }

  /** Runs `run`, a load of `seconds` (warm-up included) at `rate` requests a second, counting its collections. */
  async measure<T>(seconds: number, rate: number, run: () => Promise<T>): Promise<T> {
    const before = await gcTally(this.#url)
    const value = await run()
    this.#gc = add(this.#gc, between(before, await gcTally(this.#url)))
    this.#seconds += seconds
    this.#requests += Math.round(seconds * rate)
    return value
  }

  get result(): GcTally & { readonly seconds: number; readonly requests: number } {
    return { ...this.#gc, seconds: this.#seconds, requests: this.#requests }
  }

  /** One line for a benchmark's report, or undefined when nothing was measured. */
  line(what: string): string | undefined {
    if (this.#seconds === 0) return undefined
    const gc = this.#gc
    const mean = (k: GcKind) => (k.count > 0 ? ((k.seconds / k.count) * 1000).toFixed(2) : '-')
    return (
      `${what}: garbage collection (its /metrics/prometheus) over ${this.#seconds.toFixed(0)} s of load, about ` +
      `${this.#requests} requests: ${gc.minor.count} young collections (${mean(gc.minor)} ms each), ` +
      `${gc.major.count} full (${mean(gc.major)} ms each, after ${gc.incremental.count} marking steps). ` +
      "A young collection costs what survives it: long ones, and full ones every few seconds, mean requests' objects outlive them"
    )
  }
}
