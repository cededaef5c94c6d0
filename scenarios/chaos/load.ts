// The chaos run's load: an open model whose rate may change from phase to phase, arrivals evenly
// spaced, every request measured from its intended send time (a stalled proxy counts in full) and
// kept whole (request.ts). At most max_in_flight requests are in flight; an arrival beyond that is a
// failed request (`dropped`), never a silently delayed one.
import { Pool } from 'undici'
import { createWorkload } from '../workload.ts'
import { callOnce, type RequestRecord } from './request.ts'
import { type ChaosScenario, chaosMix } from './scenario.ts'

export type RateSegment = { readonly fromMs: number; readonly toMs: number; readonly rps: number }

export type LoadResult = {
  readonly records: RequestRecord[]
  /** How late sends left against their intended time (ms). */
  readonly sendLagMs: { p50: number; p99: number; max: number }
}

export type LoadOptions = {
  readonly targetUrl: string
  readonly apiKey: string
  readonly scenario: ChaosScenario
  readonly seed: number
  /** ms since the run's origin. */
  readonly now: () => number
  readonly signal: AbortSignal
  /** Told every finished request (progress). */
  readonly onRecord?: (record: RequestRecord) => void
}

/** The rate of each phase, as segments of the timeline. */
export function rateSegments(scenario: ChaosScenario): RateSegment[] {
  return scenario.phases.map((p) => ({
    fromMs: p.start * 1000,
    toMs: p.end * 1000,
    rps: p.rate ?? scenario.load.rate,
  }))
}

/** Intended send times (ms), evenly spaced within each segment, half a gap in. */
export function* arrivals(segments: readonly RateSegment[]): Generator<number> {
  for (const segment of segments) {
    const gap = 1000 / segment.rps
    for (let t = segment.fromMs + gap / 2; t < segment.toMs; t += gap) yield t
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { scenario, now } = options
  const { load } = scenario
  const url = new URL(options.targetUrl)
  const timeoutMs = load.timeout * 1000
  const pool = new Pool(url.origin, {
    connections: load.max_in_flight,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 10_000),
    keepAliveTimeout: 30_000,
  })
  const workload = createWorkload({
    mix: chaosMix(load),
    corpus: {
      size: load.prompts,
      zipfExponent: 1,
      models: Array.isArray(load.model) ? [...load.model] : [load.model as string],
    },
    seed: options.seed,
    apiKey: options.apiKey,
  })
  const deps = {
    dispatcher: pool,
    pathPrefix: url.pathname.replace(/\/$/, ''),
    now,
    signal: options.signal,
    timeoutMs,
  }
  const records: RequestRecord[] = []
  const inFlight = new Set<Promise<void>>()
  const lags: number[] = []
  const keep = (record: RequestRecord) => {
    records.push(record)
    options.onRecord?.(record)
  }
  try {
    for (const due of arrivals(rateSegments(scenario))) {
      if (options.signal.aborted) break
      const wait = due - now()
      if (wait > 1) await sleep(Math.floor(wait), options.signal)
      if (options.signal.aborted) break
      const at = now()
      lags.push(Math.max(0, at - due))
      const spec = workload.next()
      if (inFlight.size >= load.max_in_flight) {
        keep(droppedRecord(spec.scenario, spec.stream, due, at))
        continue
      }
      const done = callOnce(deps, spec, due)
        .catch((error: Error) => ({
          ...droppedRecord(spec.scenario, spec.stream, due, now()),
          kind: `harness_error: ${error.message}`,
        }))
        .then((record) => {
          inFlight.delete(done)
          keep(record)
        })
      inFlight.add(done)
    }
    // Every request has its own deadline (load.timeout): waiting for them all is bounded.
    await Promise.all([...inFlight])
  } finally {
    await pool.destroy().catch(() => {})
  }
  records.sort((a, b) => a.startMs - b.startMs)
  return { records, sendLagMs: lagStats(lags) }
}

function droppedRecord(
  scenario: RequestRecord['scenario'],
  stream: boolean,
  due: number,
  at: number,
): RequestRecord {
  return {
    scenario,
    stream,
    startMs: due,
    endMs: at,
    status: 0,
    code: null,
    retryAfterS: null,
    ok: false,
    kind: 'dropped',
    silentCut: false,
    malformed: false,
    ttftMs: null,
  }
}

function lagStats(lags: number[]): LoadResult['sendLagMs'] {
  if (lags.length === 0) return { p50: 0, p99: 0, max: 0 }
  const sorted = Float64Array.from(lags).sort()
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
  const r = (v: number) => Math.round(v * 100) / 100
  return { p50: r(at(50)), p99: r(at(99)), max: r(sorted[sorted.length - 1]) }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
