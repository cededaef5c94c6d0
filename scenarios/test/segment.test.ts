// Execution segments: the shards of a split run together run the whole arrival schedule, each arrival
// once, and each its share all along the run; the same for the users and for the seeded requests.
import { describe, expect, it } from 'vitest'
import { createArrivals } from '../engines/arrivals.ts'
import { runNative } from '../engines/native.ts'
import {
  createStriping,
  type ExecutionSegment,
  formatSegment,
  formatSequence,
  parseExecutionSegment,
  parseFraction,
  parseSegmentIndex,
  SegmentError,
  segmentShare,
} from '../engines/segment.ts'
import { streamFor } from '../random.ts'
import { createWorkload, type WorkloadOptions } from '../workload.ts'
import { listen, plan } from './servers.ts'

/** A server answering `{}` to anything, that keeps what it was sent: method, path and body. */
async function recordingServer() {
  const seen: string[] = []
  const server = await listen(
    (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
      void req
    },
    (req) => {
      let body = ''
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      req.on('end', () => seen.push(`${req.method} ${req.url} ${body}`))
    },
  )
  return { ...server, seen }
}

type Arrival = { index: number; atMs: number }

/** The arrivals a segment runs, as the native engine picks them: the whole schedule, its own kept. */
function arrivalsOf(
  segment: ExecutionSegment | undefined,
  process: 'constant' | 'poisson',
  seed = 42,
): Arrival[] {
  const arrivals = createArrivals({
    rps: 80,
    rampUpS: 15,
    durationS: 45,
    process,
    random: streamFor(seed, 'arrivals'),
  })
  const striping = createStriping(segment)
  const kept: Arrival[] = []
  for (let index = 0, at = arrivals.next(); at !== null; index++, at = arrivals.next())
    if (striping.owns(index)) kept.push({ index, atMs: at })
  return kept
}

const shardsOf = (n: number) => Array.from({ length: n }, (_, i) => parseSegmentIndex(`${i}/${n}`))

describe('execution segments', () => {
  it.each([1, 2, 3, 4, 7])(
    '%i shards together run every arrival of the single run exactly once (constant and Poisson)',
    (n) => {
      for (const process of ['constant', 'poisson'] as const) {
        const single = arrivalsOf(undefined, process)
        const shards = shardsOf(n).map((segment) => arrivalsOf(segment, process))
        const union = shards.flat().sort((a, b) => a.index - b.index)
        expect(union).toEqual(single)
        expect(new Set(union.map((a) => a.index)).size).toBe(single.length)
        // Each its share, within one arrival, whatever the length of the run.
        for (const shard of shards) expect(Math.abs(shard.length - single.length / n)).toBeLessThanOrEqual(1)
      }
    },
  )

  it('gives each shard its share of the rate all along the run, not a slice of its time', () => {
    const single = arrivalsOf(undefined, 'constant')
    for (const shard of shardsOf(4).map((s) => arrivalsOf(s, 'constant'))) {
      // Equal segments stripe: arrival k belongs to shard k mod N.
      expect(shard.every((a, i) => i === 0 || a.index - shard[i - 1].index === 4)).toBe(true)
      for (const second of [5, 20, 44]) {
        const inSecond = (list: Arrival[]) =>
          list.filter((a) => a.atMs >= second * 1000 && a.atMs < (second + 1) * 1000).length
        expect(Math.abs(inSecond(shard) - inSecond(single) / 4)).toBeLessThanOrEqual(1)
      }
    }
  })

  it('shares users exactly: the shares of the in-flight cap add up to the tier users', () => {
    for (const n of [1, 2, 3, 4, 7]) {
      for (const users of [400, 100, 30, 7]) {
        const shares = shardsOf(n).map((s) => createStriping(s).count(users))
        expect(shares.reduce((a, b) => a + b, 0)).toBe(users)
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1)
      }
    }
  })

  it('takes k6 execution segments with a shared sequence, unequal ones included', () => {
    const sequence = '0,1/6,1/2,0.75,1'
    const segments = ['0:1/6', '1/6:1/2', '1/2:0.75', '0.75:1'].map((s) => parseExecutionSegment(s, sequence))
    const single = arrivalsOf(undefined, 'poisson', 7)
    const shards = segments.map((segment) => arrivalsOf(segment, 'poisson', 7))
    expect(shards.flat().sort((a, b) => a.index - b.index)).toEqual(single)
    segments.forEach((segment, i) => {
      expect(Math.abs(shards[i].length - single.length * segmentShare(segment))).toBeLessThanOrEqual(1)
    })
    // A segment spanning two of the sequence's runs what those two run.
    const half = arrivalsOf(parseExecutionSegment('1/6:0.75', sequence), 'poisson', 7)
    expect(half).toEqual([...shards[1], ...shards[2]].sort((a, b) => a.index - b.index))
  })

  it('reads i/N as segment i of N equal ones, and a:b with the default sequence 0,a,b,1', () => {
    const segment = parseSegmentIndex('1/4')
    expect(formatSegment(segment)).toBe('1/4:1/2')
    expect(formatSequence(segment)).toBe('0,1/4,1/2,3/4,1')
    expect(formatSequence(parseExecutionSegment('1/3:2/3'))).toBe('0,1/3,2/3,1')
    expect(formatSequence(parseExecutionSegment('0:0.5'))).toBe('0,1/2,1')
    expect(parseFraction('25%')).toEqual([1, 4])
    // 1/3:2/3 with its default sequence is the middle one of three equal segments.
    expect(arrivalsOf(parseExecutionSegment('1/3:2/3'), 'constant')).toEqual(
      arrivalsOf(parseSegmentIndex('1/3'), 'constant'),
    )
  })

  it('refuses what is not a segment, by name', () => {
    for (const [text, sequence] of [
      ['4/4', undefined],
      ['x', undefined],
      ['2/3:1/3', undefined],
      ['0:1/2', '0,1/3,1'],
      ['0:1/2', '0,1/2,1/3,1'],
      ['0:1.5', undefined],
    ] as const) {
      expect(() =>
        text.includes(':') ? parseExecutionSegment(text, sequence) : parseSegmentIndex(text),
      ).toThrow(SegmentError)
    }
  })

  it('gives the shards the requests of one run: request k of the sequence is arrival k', () => {
    const options: WorkloadOptions = {
      mix: [
        { name: 'chat', weight: 5 },
        { name: 'chat-stream', weight: 3 },
        { name: 'models', weight: 1 },
      ],
      corpus: { size: 100, zipfExponent: 1, models: ['gpt-4o-mini'] },
      seed: 42,
      apiKey: null,
    }
    const single = createWorkload(options)
    const expected = Array.from({ length: 300 }, () => single.next())
    for (const n of [2, 3, 7]) {
      const union = new Array(300)
      for (const segment of shardsOf(n)) {
        const striping = createStriping(segment)
        const workload = createWorkload(options)
        for (let k = 0; k < 300; k++) if (striping.owns(k)) union[k] = workload.request(k)
      }
      expect(union).toEqual(expected)
    }
  })
})

describe('the native engine, split', () => {
  const mix = [
    { name: 'chat', weight: 5 },
    { name: 'condense', weight: 2 },
    { name: 'models', weight: 1 },
  ] as const

  it('sends, over 3 shards started together, exactly the requests one engine sends', async () => {
    const single = await recordingServer()
    const split = await recordingServer()
    try {
      const base = {
        rps: 30,
        durationS: 2,
        rampUpS: 0.5,
        mix: [...mix],
        arrival: 'poisson' as const,
        seed: 3,
      }
      const one = await runNative(plan({ ...base, targetUrl: single.url }))
      const startAt = Date.now() + 300
      const shards = await Promise.all(
        [0, 1, 2].map((i) =>
          runNative(plan({ ...base, targetUrl: split.url, segment: parseSegmentIndex(`${i}/3`), startAt })),
        ),
      )
      expect(one.errors).toBe(0)
      expect(shards.map((r) => r.requests).reduce((a, b) => a + b)).toBe(one.requests)
      expect([...split.seen].sort()).toEqual([...single.seen].sort())
      expect(single.seen.length).toBe(one.requests)
      for (const r of shards) expect(r.startLagMs).toBeGreaterThanOrEqual(0)
    } finally {
      await single.close()
      await split.close()
    }
  }, 30_000)

  it('gives each shard of a closed model its users and the requests of its indices', async () => {
    const servers = await Promise.all([0, 1, 2].map(() => recordingServer()))
    try {
      const base = {
        loadModel: 'closed' as const,
        users: 7,
        thinkTimeS: { min: 0.1, max: 0.2 },
        durationS: 1.5,
        rampUpS: 0.3,
        mix: [...mix],
        seed: 5,
      }
      const results = await Promise.all(
        servers.map((server, i) =>
          runNative(plan({ ...base, targetUrl: server.url, segment: parseSegmentIndex(`${i}/3`) })),
        ),
      )
      expect(results.map((r) => Math.max(...r.ticks.map((t) => t.active_users)))).toEqual([3, 2, 2])
      const workload = createWorkload({ ...plan(base), apiKey: null })
      const sequence = Array.from({ length: 200 }, (_, k) => workload.request(k))
      servers.forEach((server, i) => {
        const owned = sequence.filter((_, k) => k % 3 === i).slice(0, results[i].requests)
        expect(server.seen.sort()).toEqual(owned.map((r) => `${r.method} ${r.path} ${r.body ?? ''}`).sort())
      })
    } finally {
      for (const server of servers) await server.close()
    }
  }, 30_000)

  it('spreads requests over several targets, request k to target k mod n', async () => {
    const a = await recordingServer()
    const b = await recordingServer()
    try {
      const result = await runNative(
        plan({ targetUrl: a.url, targets: [a.url, `${b.url}/prefix`], rps: 40, durationS: 1 }),
      )
      expect(result.errors).toBe(0)
      expect(a.seen.length).toBe(Math.ceil(result.requests / 2))
      expect(b.seen.length).toBe(Math.floor(result.requests / 2))
      expect(b.seen.every((line) => line.startsWith('GET /prefix/v1/models'))).toBe(true)
    } finally {
      await a.close()
      await b.close()
    }
  }, 30_000)
})
