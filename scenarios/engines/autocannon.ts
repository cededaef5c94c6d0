// The embedded engine: autocannon through its programmatic API, measured by the same Recorder as the
// native engine. autocannon is a closed loop: `users` connections, each sending its next request when
// the previous answer is complete. With a rate (the tier's expected_rps) it paces them with its limiter,
// which refills once a second, so requests leave in bursts at each second's start. Latency is measured
// from the actual send (its own coordinated-omission correction is wrong, see REFERENCES.md, and is
// not used). Streams are read whole: total latency only, no TTFT or inter-token latency, so stream
// statistics are left out of the summary; truncated streams still count as errors. When it stops it
// drops the requests still in flight without a word: each connection's sends are tracked here, so
// that those are counted (inFlightAtEnd) and the report can say how many and how old.
import type { IncomingHttpHeaders } from 'node:http'
import autocannon from 'autocannon'
import { streamFor } from '../random.ts'
import type { ScenarioName } from '../scenario.ts'
import { createWorkload } from '../workload.ts'
import { answerFailure } from './answer.ts'
import { cpuMeter, loopMeter, packageVersion } from './gauges.ts'
import { type AnswerHeaders, contentTypeOf, readAnswerHeaders } from './http-call.ts'
import type { EngineHooks, EnginePlan, EngineResult } from './plan.ts'
import { Recorder } from './recorder.ts'
import { SseMeter } from './sse.ts'

type Context = {
  scenario?: ScenarioName
  stream?: boolean
  failure?: string | null
  answer?: AnswerHeaders
}

type ClientInternals = autocannon.Client & { requestIterator: { context: Context } }

export const AUTOCANNON_NOTES = [
  'autocannon: a closed loop of `users` connections paced by its rate limiter, which refills once a second: requests leave in a burst at the start of each second and queue behind each other, which inflates p95 and p99 against an evenly paced open model.',
  "autocannon: each connection waits for its answer before sending again, so a stall longer than a connection's interval between requests delays the requests that were never sent, and they are missing from the percentiles (the native engine's open model counts them); its own coordinated-omission correction is wrong (expected interval ceil(1/rate) ms = 1 ms) and is not used: latency is measured from the actual send.",
  'autocannon: no ramp-up (every connection starts at once); streams are read whole, so there is no TTFT or inter-token latency; requests still in flight when the duration ends are dropped by autocannon: they are counted here, not recorded.',
]

export async function runAutocannon(plan: EnginePlan, hooks: EngineHooks = {}): Promise<EngineResult> {
  const url = new URL(plan.targetUrl)
  const prefix = url.pathname.replace(/\/$/, '')
  const t0 = performance.now()
  const now = () => performance.now() - t0
  const startedAt = new Date()
  const cpu = cpuMeter()
  const loop = loopMeter()
  const workload = createWorkload({
    mix: plan.mix,
    corpus: plan.corpus,
    seed: plan.seed,
    apiKey: plan.apiKey,
  })
  const rate = plan.rps > 0 ? Math.max(1, Math.round(plan.rps)) : 0
  // autocannon itself lowers the connections to the rate when the rate is smaller.
  const connections = rate > 0 ? Math.min(plan.users, rate) : plan.users
  const recorder = new Recorder({
    bucketS: plan.bucketS,
    samplesPerBucket: plan.samplesPerBucket,
    random: streamFor(plan.seed, 'samples'),
    scenarios: plan.mix.filter((s) => s.weight > 0).map((s) => s.name),
    steadyWindowMs: { from: 0, to: plan.durationS * 1000 },
    gauges: () => ({ activeUsers: connections, cpuPercent: cpu(), loop: loop.read() }),
    onTick: hooks.onTick,
  })
  const ticker = setInterval(() => recorder.advance(now()), 100)

  const failure = (scenario: ScenarioName | undefined, kind: string) => {
    const endMs = now()
    recorder.record({
      scenario: scenario ?? 'chat',
      ok: false,
      kind,
      latencyMs: 0,
      endMs,
      stream: null,
      proxyMs: Number.NaN,
    })
  }

  // Send times of each connection's unanswered requests, oldest first (one, but for a moment around
  // a timeout or a reconnect, which send the next request before reporting the old one).
  const unanswered = new Set<number[]>()

  const setupClient = (client: autocannon.Client) => {
    const internals = client as ClientInternals
    // 'request', 'timeout' and 'connError' are emitted by autocannon's client but not in its types.
    const events = client as unknown as NodeJS.EventEmitter
    const sent: number[] = []
    unanswered.add(sent)
    // 'request' fires before the iterator moves on: the context still holds the request that just ended.
    let previous: ScenarioName | undefined
    events.on('request', () => {
      previous = internals.requestIterator.context.scenario
      sent.push(now())
    })
    client.on('response', (status: number, _bytes: number, durationMs: number) => {
      sent.shift()
      const context = internals.requestIterator.context
      const ok = status >= 200 && status < 300 && !context.failure
      recorder.record({
        scenario: context.scenario ?? 'chat',
        ok,
        kind: ok ? null : (context.failure ?? `http_${status}`),
        latencyMs: durationMs,
        endMs: now(),
        stream: null,
        proxyMs: Number.NaN,
        ...context.answer,
      })
    })
    // A timeout or a connection error fires after the next request was set up: use the previous one.
    events.on('timeout', () => {
      sent.shift()
      failure(previous, 'timeout')
    })
    events.on('connError', (error: NodeJS.ErrnoException) => {
      sent.shift()
      failure(internals.requestIterator.context.scenario, connErrorKind(error))
    })
  }

  let resolveDone!: (result: autocannon.Result) => void
  let rejectDone!: (error: unknown) => void
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    resolveDone = resolve
    rejectDone = reject
  })
  const options: autocannon.Options = {
    url: url.origin,
    connections,
    ...(rate > 0 ? { overallRate: rate } : {}),
    duration: plan.durationS,
    timeout: plan.requestTimeoutS,
    pipelining: 1,
    setupClient,
    requests: [
      {
        setupRequest: (request: autocannon.Request, raw: object) => {
          const context = raw as Context
          const spec = workload.next()
          context.scenario = spec.scenario
          context.stream = spec.stream
          context.failure = null
          return {
            ...request,
            method: spec.method,
            path: prefix + spec.path,
            headers: { ...spec.headers },
            body: spec.body ?? '',
          } as autocannon.Request
        },
        onResponse: (status: number, body: string, raw: object, headers: IncomingHttpHeaders | undefined) => {
          const context = raw as Context
          const lowered = lowerCaseKeys(headers)
          context.answer = readAnswerHeaders(lowered)
          if (status < 200 || status >= 300) return
          if (context.stream) {
            const meter = new SseMeter(0, now)
            meter.push(body)
            context.failure = meter.finish().kind
          } else context.failure = answerFailure(status, contentTypeOf(lowered), body)
        },
      },
    ],
  }
  const instance = autocannon(options, (error, result) => (error ? rejectDone(error) : resolveDone(result)))
  const stop = () => instance.stop()
  hooks.signal?.addEventListener('abort', stop, { once: true })
  let raw: autocannon.Result
  try {
    raw = await done
  } finally {
    clearInterval(ticker)
    hooks.signal?.removeEventListener('abort', stop)
  }
  const durationMs = now()
  recorder.finish(durationMs)
  const generatorLoad = loop.total()
  loop.stop()
  const stillSent = [...unanswered].flat()
  // autocannon has no ramp-up: its window is the duration it ran (less when stopped early).
  const steadySpanS = Math.min(durationMs, plan.durationS * 1000) / 1000
  const { samples, ...summary } = recorder.summary(steadySpanS, plan.latencyPercentile)
  return {
    engine: 'autocannon',
    engineVersion: packageVersion('autocannon'),
    loadModel: 'closed',
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    durationS: Math.round(durationMs) / 1000,
    ...summary,
    steadySpanS,
    generatorLoad: {
      eventLoopDelayMs: generatorLoad.delayMs,
      eventLoopUtilization: generatorLoad.utilization,
    },
    inFlightAtEnd: {
      count: stillSent.length,
      oldestMs: stillSent.length === 0 ? 0 : durationMs - Math.min(...stillSent),
    },
    // Streams through autocannon are not measured chunk by chunk: no stream statistics.
    stream: undefined,
    stream_by_cache: undefined,
    scenarios: summary.scenarios.map(({ stream: _, stream_by_cache: __, ...rest }) => rest),
    samples,
    intendedRps: rate,
    notes: [...AUTOCANNON_NOTES],
    raw: stripHistograms(raw),
  }
}

function lowerCaseKeys(
  headers: IncomingHttpHeaders | undefined,
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {}
  for (const [key, value] of Object.entries(headers ?? {})) out[key.toLowerCase()] = value
  return out
}

function connErrorKind(error: NodeJS.ErrnoException): string {
  if (error?.code === 'ECONNREFUSED') return 'connect_refused'
  if (error?.code === 'ECONNRESET' || error?.code === 'EPIPE') return 'reset'
  return error?.code ? error.code.toLowerCase() : 'network'
}

/** autocannon's result without its encoded histograms (not JSON friendly). */
function stripHistograms(result: autocannon.Result): unknown {
  return JSON.parse(JSON.stringify(result, (key, value) => (key === 'histograms' ? undefined : value)))
}
