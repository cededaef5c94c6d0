import autocannon from 'autocannon'
import hdr from 'hdr-histogram-js'

export interface Measurement {
  readonly rps: number
  readonly requests: number
  readonly errors: number
  readonly non2xx: number
  /**
   * The shortest answer's size against the mean answer's (bytes read, head included), 1 when no
   * answer came. Answers to one request are all about one size; one far shorter was cut.
   */
  readonly shortest: number
  /** Latency percentiles in ms, at microsecond resolution. */
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

export interface LoadOptions {
  readonly url: string
  readonly path: string
  readonly body: string
  readonly headers?: Record<string, string>
  readonly connections: number
  readonly seconds: number
  /** A new body for each request (a prompt never sent before), instead of `body` every time. */
  readonly fresh?: () => string
}

/**
 * One closed-loop autocannon run. Latency comes from each response's own timing (float ms) into
 * an HDR histogram in microseconds: autocannon's own histogram rounds to whole milliseconds,
 * too coarse for a proxy that adds a fraction of one.
 */
export async function measure(options: LoadOptions): Promise<Measurement> {
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  })
  const instance = autocannon({
    url: options.url + options.path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.seconds,
    ...(options.fresh && {
      requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: options.fresh!() }) }],
    }),
  }) as unknown as Promise<autocannon.Result> & NodeJS.EventEmitter
  let [answers, bytes, fewest] = [0, 0, Number.POSITIVE_INFINITY]
  instance.on('response', (_client: unknown, _status: number, size: number, ms: number) => {
    histogram.recordValue(Math.max(1, Math.round(ms * 1000)))
    answers++
    bytes += size
    if (size < fewest) fewest = size
  })
  const result = await instance
  const out: Measurement = {
    rps: result.requests.total / options.seconds,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    shortest: answers > 0 ? fewest / (bytes / answers) : 1,
    p50: histogram.getValueAtPercentile(50) / 1000,
    p90: histogram.getValueAtPercentile(90) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
  }
  histogram.destroy()
  return out
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export interface PairedTarget {
  readonly url: string
  readonly headers?: Record<string, string>
  /** The server's process id, to read its CPU time. */
  readonly pid: number
  /** Its own number of connections, instead of the run's. */
  readonly connections?: number
}

export interface PairedResult extends Measurement {
  /** Server CPU time per request, in microseconds. */
  readonly cpuUs: number
}

/** The shortest answer of a measured run may be this much of the mean size (the mock's texts vary by a few %). */
export const MIN_SHORTEST = 0.8

/**
 * Throws unless every answer of a run came whole: no error, no status but 2xx, none far shorter
 * than the others. A gateway that cuts answers (a stream ended early with an error event, still a
 * 200) would look cheaper per request than one that relays them whole.
 */
export function checkAnswers(name: string, m: Measurement): void {
  if (m.errors > 0 || m.non2xx > 0)
    throw new Error(`${name}: ${m.errors} errors, ${m.non2xx} non-2xx answers`)
  if (m.shortest < MIN_SHORTEST)
    throw new Error(
      `${name}: an answer cut short (the shortest ${(m.shortest * 100).toFixed(0)} % of the mean size)`,
    )
}

/**
 * Loads every target at the same time (one closed-loop generator each) and reads each server's
 * CPU time per request from /proc. Whatever slows a shared machine slows them all alike, so the
 * ratio of CPU per request is the throughput ratio on equal CPU, far steadier than req/s taken
 * one target after another.
 */
export async function measureTogether(
  targets: readonly PairedTarget[],
  options: {
    path: string
    body: string
    connections: number
    seconds: number
    cpuMs: (pid: number) => number
  },
): Promise<PairedResult[]> {
  const before = targets.map((t) => options.cpuMs(t.pid))
  const runs = await Promise.all(
    targets.map((t) =>
      measure({
        url: t.url,
        path: options.path,
        body: options.body,
        headers: t.headers,
        connections: t.connections ?? options.connections,
        seconds: options.seconds,
      }),
    ),
  )
  return targets.map((t, i) => {
    const m = runs[i]
    checkAnswers(t.url, m)
    return { ...m, cpuUs: ((options.cpuMs(t.pid) - before[i]) * 1000) / m.requests }
  })
}

/**
 * Whether two slices of CPU per request (one value per target) agree: each target's CPU relative
 * to the cheapest of its slice moved by at most `tolerance` (a fraction). Relative, because a
 * shared machine speeds up and slows down for every target at once; a gateway still settling
 * moves against the others.
 */
export function heldSteady(
  previous: readonly number[],
  current: readonly number[],
  tolerance: number,
): boolean {
  if (previous.length !== current.length || current.length === 0) return false
  const relative = (slice: readonly number[]) => {
    const cheapest = Math.min(...slice)
    return slice.map((us) => us / cheapest)
  }
  const before = relative(previous)
  return relative(current).every((r, i) => Math.abs(r - before[i]) <= tolerance * Math.max(r, before[i]))
}

export interface WarmUp {
  readonly seconds: number
  /** False when the cap came first. */
  readonly steady: boolean
  /** Requests each target served during it, in the targets' order. */
  readonly requests: readonly number[]
}

/**
 * Loads the targets together until they run at steady state, so that no round measures a gateway
 * still compiling its hot paths: a large one (the proxy) needs some 20-30 s of load for V8 to
 * settle, a twenty-line reference about two, and a fixed short warm-up would charge the
 * difference to the larger. Slices of `sliceSeconds` run for at least `minSeconds` (early slices
 * look alike while everything is still compiling), then until every target's CPU per request,
 * relative to the others', holds within `tolerance` of the slice before (heldSteady), or
 * `maxSeconds` have passed.
 */
export async function warmTogether(
  targets: readonly PairedTarget[],
  options: Omit<Parameters<typeof measureTogether>[1], 'seconds'> & {
    sliceSeconds?: number
    minSeconds?: number
    maxSeconds?: number
    tolerance?: number
  },
): Promise<WarmUp> {
  const slice = options.sliceSeconds ?? 4
  const min = options.minSeconds ?? 20
  const max = options.maxSeconds ?? 40
  const tolerance = options.tolerance ?? 0.05
  let previous: number[] = []
  let seconds = 0
  const requests = targets.map(() => 0)
  while (seconds < max) {
    const results = await measureTogether(targets, { ...options, seconds: slice })
    seconds += slice
    for (const [i, r] of results.entries()) requests[i] += r.requests
    const current = results.map((r) => r.cpuUs)
    process.stderr.write(
      `warm-up ${seconds} s: CPU per request ${current.map((us) => `${us.toFixed(1)} us`).join(', ')}\n`,
    )
    if (seconds >= min && heldSteady(previous, current, tolerance)) return { seconds, steady: true, requests }
    previous = current
  }
  return { seconds, steady: false, requests }
}

/**
 * `rounds` paired runs of `measureTogether`; each round's CPU time per request by target name
 * (what report.ts compares), and every measurement. Progress goes to stderr.
 */
export async function pairedRounds(
  targets: readonly (PairedTarget & { readonly name: string })[],
  options: Parameters<typeof measureTogether>[1] & { rounds: number },
): Promise<{ cpuUs: Map<string, number>[]; runs: PairedResult[][] }> {
  const cpuUs: Map<string, number>[] = []
  const runs: PairedResult[][] = []
  for (let round = 0; round < options.rounds; round++) {
    const results = await measureTogether(targets, options)
    runs.push(results)
    cpuUs.push(new Map(targets.map((t, i) => [t.name, results[i].cpuUs])))
    const each = targets.map((t, i) => `${t.name} ${results[i].cpuUs.toFixed(1)} us`).join(', ')
    process.stderr.write(`paired ${round + 1}/${options.rounds}: CPU per request ${each}\n`)
  }
  return { cpuUs, runs }
}
