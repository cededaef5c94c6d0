import { setTimeout as sleep } from 'node:timers/promises'
import { type Dispatcher, Pool } from 'undici'
import { readCommandLine } from '../run/command-line.ts'
import { RssTrack, treeMemory } from '../run/procfs.ts'
import { runTier } from '../run/runner.ts'
import {
  AUTH,
  chatRequestOfSize,
  fixedLengthProfile,
  outFlag,
  runBench,
  saveResults,
  startMock,
  startProxy,
  streamRequest,
} from './common.ts'
import { type Goal, goalLine, memoryGoals, table, trend } from './report.ts'
import type { Start } from './services.ts'

// npm run bench:memory: the proxy's resident memory (RSS from /proc, the proxy and any workers).
// 1. Open streams: --streams at a time (default 1,000), --steps times, held open by a slow mock
//    (one token a second); RSS with 0, 1,000, 2,000 open, and the cost per 1,000. The proxy runs
//    with its defaults but for the two limits that would refuse so many streams (requests in
//    progress, connections to the provider). --prompt-kb N sends each stream's request with a
//    conversation of about N KB (what a chat client sends), instead of two short messages.
// 2. The extreme tier (tiers.yaml: 200 req/s after its ramp, mixed chat, streams, models and
//    condensation; default proxy configuration, cache on), stretched or shrunk to --minutes; RSS
//    sampled every second: start, peak, end, and the least-squares slope after the ramp-up and
//    over the second half. Goal: at most 200 MB, flat over 30 minutes (--minutes 30).
//    A proxy that exits during the run misses both (report.ts memoryGoals), whatever it read until
//    then; a tier that did not pass is not judged (a proxy that refused much of the load held less).

const { values } = readCommandLine({
  usage: 'npm run bench:memory -- [options]',
  about:
    "The proxy's resident memory: with open streams held by a slow mock (the cost of 1,000), then through\n" +
    'the extreme tier for --minutes. Goal: at most 200 MB, flat over 30 minutes (--minutes 30).',
  flags: {
    only: { type: 'string', choices: ['streams', 'extreme'], help: 'run one part only' },
    streams: { type: 'integer', default: 1000, min: 1, value: 'n', help: 'streams opened at each step' },
    'prompt-kb': {
      type: 'number',
      default: 0,
      min: 0,
      value: 'kb',
      help: "each stream's request about this many KB (0: two short messages)",
    },
    steps: { type: 'integer', default: 2, min: 1, value: 'n', help: 'steps of --streams' },
    minutes: { type: 'number', default: 3, min: 0.1, value: 'min', help: 'length of the extreme tier' },
    'max-mb': { type: 'number', default: 200, min: 1, value: 'mb', help: 'peak RSS the goal allows' },
    'max-slope': {
      type: 'number',
      default: 0.5,
      min: 0,
      value: 'mb/min',
      help: 'RSS growth over the second half the goal allows',
    },
    out: outFlag('bench-memory'),
  },
})
const { steps, minutes } = values
const perStep = values.streams
const promptKb = values['prompt-kb']
const maxMb = values['max-mb']
const maxSlope = values['max-slope']
const EXTREME_MINUTES = 10

/** RSS of the proxy and its workers, MB, which must be running: its exit fails the run (not 0 MB). */
function liveRss(pid: number): number {
  const tree = treeMemory(pid)
  if (tree === null) throw new Error(`the proxy (pid ${pid}) exited while streams were open`)
  return tree.rssMb
}
const round = (x: number) => Math.round(x * 10) / 10
const kb = (body: string) => round(Buffer.byteLength(body) / 1024)

/** Holds a stream open from its first data byte until close(); the rest is read and dropped. */
class HeldStream implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined
  readonly opened: (ok: boolean) => void
  constructor(opened: (ok: boolean) => void) {
    this.opened = opened
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
  }
  onResponseStart(_c: Dispatcher.DispatchController, status: number): void {
    if (status !== 200) this.opened(false)
  }
  onResponseData(): void {
    this.opened(true)
  }
  onResponseEnd(): void {
    this.opened(false)
  }
  onResponseError(): void {
    this.opened(false)
  }
}

async function openStreams(start: Start): Promise<Record<string, unknown>> {
  const total = perStep * steps
  const mock = await startMock(start, {
    name: 'slow mock',
    profile: fixedLengthProfile(1000, { itl: 1000 }),
  })
  const proxy = await startProxy(start, {
    name: 'proxy',
    mockUrl: mock.url,
    config: {
      server: { host: '127.0.0.1', port: 0, worker_connections: total + 100 },
      http_client: { pool_limits: { max_connections: total + 100 } },
    },
  })
  const pid = proxy.child.pid!
  const pool = new Pool(proxy.url, { connections: total, headersTimeout: 60_000, bodyTimeout: 60_000 })
  const body = JSON.stringify(
    promptKb > 0 ? { ...chatRequestOfSize(promptKb), max_tokens: 1000, stream: true } : streamRequest(1000),
  )
  const headers = { 'content-type': 'application/json', ...AUTH }
  const held: HeldStream[] = []
  const samples: { open: number; failed: number; rss_mb: number }[] = []
  let failed = 0
  try {
    await sleep(2000)
    samples.push({ open: 0, failed, rss_mb: liveRss(pid) })
    for (let step = 1; step <= steps; step++) {
      const opening: Promise<boolean>[] = []
      for (let i = 0; i < perStep; i++) {
        opening.push(
          new Promise<boolean>((resolve) => {
            const stream = new HeldStream(resolve)
            held.push(stream)
            pool.dispatch({ method: 'POST', path: '/v1/chat/completions', headers, body }, stream)
          }),
        )
        if (i % 100 === 99) await sleep(100) // 1,000 streams a second
      }
      failed += (await Promise.all(opening)).filter((ok) => !ok).length
      await sleep(3000) // a few tokens on every stream before the reading
      samples.push({ open: step * perStep - failed, failed, rss_mb: liveRss(pid) })
      process.stderr.write(
        `${step * perStep} streams opened (${failed} failed): RSS ${samples.at(-1)!.rss_mb} MB\n`,
      )
    }
  } finally {
    for (const s of held) s.controller?.abort(new Error('benchmark over'))
    await pool.destroy()
    await proxy.stop()
    await mock.stop()
  }
  const perThousand =
    ((samples.at(-1)!.rss_mb - samples[0].rss_mb) / Math.max(1, samples.at(-1)!.open)) * 1000
  console.log(
    [
      `open streams: ${steps} x ${perStep}, requests of ${kb(body)} KB, slow mock (1 token a second), proxy defaults but worker_connections and max_connections ${total + 100}`,
      '',
      table(
        ['open streams', 'failed', 'RSS MB'],
        samples.map((s) => [String(s.open), String(s.failed), s.rss_mb]),
        1,
      ),
      '',
      `RSS per 1,000 open streams: ${perThousand.toFixed(1)} MB`,
    ].join('\n'),
  )
  return { request_kb: kb(body), samples, rss_mb_per_1000_streams: round(perThousand) }
}

async function extremeTier(): Promise<{ result: Record<string, unknown>; goals: Goal[] }> {
  let pid = 0
  // The stack stops before the run resolves: the track reads nothing once the proxy is gone.
  const track = new RssTrack(() => pid, 1000)
  const scale = minutes / EXTREME_MINUTES
  const outcome = await runTier({
    tier: 'extreme',
    durationScale: scale,
    command: `npm run bench:memory -- --minutes ${minutes}`,
    onStackReady: (processes) => {
      pid = processes.find((p) => p.name === 'proxy')!.pid
    },
  }).finally(() => track.stop())
  const samples = track.samples
  const rampS = 120 * scale
  const steady = trend(samples.filter((s) => s.seconds >= rampS))
  const secondHalf = trend(samples.filter((s) => s.seconds >= (minutes * 60) / 2))
  const all = trend(samples)
  console.log(
    [
      `extreme tier over ${minutes} min (ramp ${rampS.toFixed(0)} s), proxy defaults; RSS sampled every second (${samples.length} samples)`,
      '',
      table(
        ['window', 'start MB', 'peak MB', 'end MB', 'slope MB/min'],
        [
          ['whole run', all.start, all.peak, all.end, all.perMinute],
          ['after the ramp-up', steady.start, steady.peak, steady.end, steady.perMinute],
          ['second half', secondHalf.start, secondHalf.peak, secondHalf.end, secondHalf.perMinute],
        ],
      ),
      '',
      `tier: ${outcome.summary.status}, report ${outcome.dir}/report.html`,
    ].join('\n'),
  )
  const goals = memoryGoals({ samples, minutes, maxMb, maxSlope, tierStatus: outcome.summary.status })
  return {
    result: {
      minutes,
      ramp_s: rampS,
      tier_status: outcome.summary.status,
      run_dir: outcome.dir,
      whole: all,
      steady,
      second_half: secondHalf,
      samples,
    },
    goals,
  }
}

async function main(start: Start): Promise<void> {
  const results: Record<string, unknown> = {}
  const goals: Goal[] = []
  if (values.only !== 'extreme') results.open_streams = await openStreams(start)
  if (values.only !== 'streams') {
    const extreme = await extremeTier()
    results.extreme = extreme.result
    goals.push(...extreme.goals)
  }
  if (goals.length) console.log(`\n${goals.map(goalLine).join('\n')}`)
  saveResults('bench-memory', { ...results, goals }, values.out)
}

runBench(main)
