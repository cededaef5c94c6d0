import { parseArgs } from 'node:util'
import {
  AUTH,
  CHAT_REQUEST,
  loggedBytes,
  PROXY_ENV,
  runBench,
  saveResults,
  startMock,
  startProxy,
  stealWatch,
} from './common.ts'
import { openLoop } from './open-loop.ts'
import { asTarget, DISPATCH_REFERENCE, startReferences } from './references.ts'
import { addedGoal, goalLine, medianRound, openTable, ownTimeLine, stealLine } from './report.ts'
import { pinSelf, type Start } from './services.ts'

// npm run bench:latency: the latency the proxy adds, in the open model. --rate requests per second
// (default 1,000) to the zero-latency mock directly and the same to the proxy (defaults, logging
// on, cache off) in front of that same mock, interleaved in one run (one request every 0.5 ms,
// alternating), each timed from its intended send time; optionally the barest reference gateway
// too, for what any gateway adds. Proxy and reference on CPU 0, mock and generator on CPU 1.
// The first 20 s (--warmup) are load, not measurement: at this rate V8 compiles the proxy's hot
// paths for 10-20 s, stalling it in bursts, which a long-running proxy never shows again. A run in
// which the generator could not keep its schedule (send lag p99 over report.ts MAX_SEND_LAG_MS: its
// core, shared with the mock, was short of CPU) measured the load side and is not judged.

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '20' },
    reference: { type: 'string', default: 'dispatch' },
    config: { type: 'string', default: '{}' },
    out: { type: 'string' },
  },
})
const rate = Number(values.rate)
const seconds = Number(values.seconds)
const body = JSON.stringify(CHAT_REQUEST)

async function main(start: Start): Promise<void> {
  pinSelf(1)
  const mock = await startMock(start, { name: 'mock (cpu 1)', profile: 'zero', cpu: 1 })
  const proxy = await startProxy(start, {
    name: 'proxy (defaults)',
    mockUrl: mock.url,
    config: JSON.parse(values.config ?? '{}'),
    env: PROXY_ENV,
    cpu: 0,
  })
  const references =
    values.reference === 'none' ? [] : await startReferences(start, mock.url, 0, [DISPATCH_REFERENCE])
  const targets = [
    { name: 'mock directly', url: mock.url },
    ...references,
    asTarget('proxy (defaults)', proxy, AUTH),
  ].map((t) => ({ ...t, body }))
  process.stderr.write(
    `open model: ${rate} req/s to each of ${targets.length} targets, ${values.warmup} s warm-up + ${seconds} s\n`,
  )
  const watch = stealWatch([0, 1])
  const results = await openLoop(targets, {
    rate,
    seconds,
    warmupSeconds: Number(values.warmup),
    onMeasureStart: watch.start,
  })
  const steal = watch.stop()
  const proxied = results[results.length - 1]
  const read = medianRound([results], results.length - 1, 'latency')
  const extra = read.added
  const goal = addedGoal(`latency added by the proxy p99 <= 1 ms at ${rate} req/s`, read)
  console.log(
    [
      `open-model latency: ${rate} req/s each for ${seconds} s, non-streaming chat, zero-latency mock, from the intended send time`,
      '',
      openTable(results, 'latency'),
      '',
      ...(ownTimeLine(proxied, extra) ? [ownTimeLine(proxied, extra), ''] : []),
      ...(stealLine(steal) ? [stealLine(steal), ''] : []),
      `proxy log: ${(loggedBytes(proxy) / 1024 / 1024).toFixed(1)} MB written`,
      '',
      goalLine(goal),
    ].join('\n'),
  )
  saveResults('bench-latency', { rate, seconds, results, added: extra, steal, goal }, values.out)
}

runBench(main)
