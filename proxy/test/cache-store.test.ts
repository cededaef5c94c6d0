import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { Codec, type CodecSettings } from '../src/cache/codec.ts'
import { ConfigCache } from '../src/cache/config-cache.ts'
import { compileGlob } from '../src/cache/glob.ts'
import { canonicalJson, responseKey, sortedKeys } from '../src/cache/key.ts'
import { isDeterministic } from '../src/cache/policy.ts'
import { PopularityTracker } from '../src/cache/popularity.ts'
import { RecordCache } from '../src/cache/store.ts'
import { loadConfig } from '../src/config/load.ts'
import { FakeClock } from './fake-clock.ts'

const plain: CodecSettings = {
  compress: false,
  algorithm: 'gzip',
  level: 6,
  thresholdBytes: 0,
  format: 'msgpack',
}

function cache(clock: FakeClock, maxBytes = 1024 * 1024, ttlMs = 60_000, codec = new Codec(plain)) {
  return new RecordCache<{ text: string }, { provider: string }>({
    name: 'test',
    maxBytes,
    ttlMs,
    codec,
    now: clock.monotonic,
  })
}

describe('RecordCache', () => {
  it('inflates a hot compressed entry once, and never answers from the copy of a replaced or removed one', () => {
    const clock = new FakeClock()
    const codec = new Codec({ ...plain, compress: true, thresholdBytes: 64 })
    const c = cache(clock, 1024 * 1024, 60_000, codec)
    const decodes = vi.spyOn(codec, 'decode')
    const text = (n: number) => `answer ${n} `.repeat(200)
    c.set('k', { text: text(1) }, { provider: 'p' })
    const read = () => {
      const slot = c.get('k')
      return slot && c.read(slot, (v) => v.text)
    }
    expect(read()).toBe(text(1))
    expect(read()).toBe(text(1))
    expect(decodes).toHaveBeenCalledTimes(1)
    expect(c.bytes()).toBeGreaterThan(text(1).length) // the inflated copy is counted
    const before = c.bytes()
    c.set('k', { text: text(2) }, { provider: 'p' })
    expect(c.bytes()).toBeLessThan(before) // the replaced answer's copy is gone with it
    expect(read()).toBe(text(2))
    c.delete('k')
    expect(read()).toBeUndefined()
    c.set('k', { text: text(3) }, { provider: 'p' })
    expect(read()).toBe(text(3))
    c.deleteWhere(() => true, 'pattern')
    expect(read()).toBeUndefined()
    c.set('k', { text: text(4) }, { provider: 'p' })
    expect(read()).toBe(text(4))
    const held = c.bytes()
    expect(c.shrink(0)).toBeGreaterThan(0) // memory pressure drops the copies first
    expect(c.bytes()).toBeLessThan(held)
    expect(read()).toBe(text(4))
    expect(decodes).toHaveBeenCalledTimes(4 + 1)
  })

  it('expires an entry when its TTL has passed on the injected clock, and says why', () => {
    const clock = new FakeClock()
    const c = cache(clock, 1024 * 1024, 30_000)
    c.set('k', { text: 'hello' }, { provider: 'p' })
    clock.advance(29_999)
    expect(c.get('k')).toBeDefined()
    expect(c.remainingTtl('k')).toBe(1)
    clock.advance(2)
    expect(c.get('k')).toBeUndefined()
    expect(c.figures()).toMatchObject({ hits: 1, misses: 1, entries: 0, evictions: { expire: 1 } })
  })

  it('keeps its byte bound when filled with ten times the cap', () => {
    const clock = new FakeClock()
    const maxBytes = 256 * 1024
    const c = cache(clock, maxBytes)
    const text = 'x'.repeat(1000)
    let written = 0
    for (let i = 0; written < maxBytes * 10; i++) {
      const slot = c.set(`key-${i}`, { text: `${i}${text}` }, { provider: 'p' })
      written += slot!.record.length
      expect(c.bytes()).toBeLessThanOrEqual(maxBytes)
    }
    const f = c.figures()
    expect(f.bytes).toBeGreaterThan(maxBytes * 0.9)
    expect(f.evictions.evict).toBeGreaterThan(f.entries * 8)
    // Least recently used go first: the newest entries are still there.
    expect(c.peek(`key-${f.evictions.evict + f.entries - 1}`)).toBeDefined()
    expect(c.peek('key-0')).toBeUndefined()
  })

  it('refuses an entry larger than an eighth of its bound', () => {
    const c = cache(new FakeClock(), 64 * 1024)
    expect(c.set('big', { text: 'y'.repeat(10_000) }, { provider: 'p' })).toBeUndefined()
    expect(c.size).toBe(0)
    // Just under the bound (8 KB with the key and the entry's overhead) is kept; replaced by one
    // over it, the key holds nothing.
    expect(c.set('big', { text: 'y'.repeat(7_000) }, { provider: 'p' })).toBeDefined()
    expect(c.peek('big')).toBeDefined()
    expect(c.set('big', { text: 'y'.repeat(8_000) }, { provider: 'p' })).toBeUndefined()
    expect(c.peek('big')).toBeUndefined()
  })

  it('counts removals by reason: replaced, deleted by filter, cleared, shrunk', () => {
    const c = cache(new FakeClock())
    for (let i = 0; i < 10; i++) c.set(`k${i}`, { text: String(i) }, { provider: i < 3 ? 'a' : 'b' })
    c.set('k9', { text: 'again' }, { provider: 'b' })
    expect(c.deleteWhere((_k, meta) => meta.provider === 'a', 'provider')).toBe(3)
    const before = c.bytes()
    const freed = c.shrink(0.5)
    expect(freed).toBeGreaterThanOrEqual(before / 2)
    expect(c.bytes()).toBe(before - freed)
    c.clear('manual')
    expect(c.figures().evictions).toEqual({ set: 1, provider: 3, memory_pressure: 4, manual: 3 })
  })
})

// A small buffer from Node's pool is a slice of a shared 8 KB slab and keeps it alive: kept in a
// cache, every record would pin a slab (and whatever else was cut from it) while the cache counts
// a few hundred bytes. What a cache keeps must be the whole of its own memory.
describe('what caches keep', () => {
  it('keeps records, inflated answers and tracked requests in memory of their own, never a slice of a shared slab', () => {
    const alone = (b: Uint8Array) => b.byteOffset === 0 && b.buffer.byteLength === b.byteLength
    const clock = new FakeClock()
    for (const codec of [
      new Codec(plain),
      new Codec({ ...plain, compress: true, thresholdBytes: 64 }),
      new Codec({ ...plain, compress: true, thresholdBytes: 64, format: 'json' }),
    ]) {
      const c = new RecordCache<{ text: string; bytes: Buffer }, { provider: string }>({
        name: 'test',
        maxBytes: 1024 * 1024,
        ttlMs: 60_000,
        codec,
        now: clock.monotonic,
      })
      const slot = c.set(
        'small',
        { text: 'short answer '.repeat(20), bytes: Buffer.from('abc') },
        { provider: 'p' },
      )
      expect(slot && alone(slot.record)).toBe(true)
      const value = c.read(slot!, (v) => v)
      // Byte fields of the value kept on the slot or in the inflated tier view memory of its own.
      expect(value.bytes.buffer.byteLength).toBeLessThan(Buffer.poolSize)
      // A record read from Redis arrives as a slice of the reply; the cache keeps a copy of its own.
      const head = Buffer.from(`$${slot!.record.length}\r\n`)
      const reply = Buffer.concat([head, slot!.record, Buffer.from('\r\n')])
      const fromRedis = reply.subarray(head.length, head.length + slot!.record.length)
      const kept = c.setRecord('redis', {
        record: fromRedis,
        rawBytes: fromRedis.length,
        meta: { provider: 'p' },
      })
      expect(kept && alone(kept.record)).toBe(true)
      expect(c.read(kept!, (v) => v.text)).toBe('short answer '.repeat(20))
    }
    const tracker = new PopularityTracker(1024 * 1024, 1)
    const body = Buffer.from('{"model":"m","messages":[]}') // a pool slice, as request bodies are
    expect(alone(body)).toBe(false)
    tracker.touch('k', body, false)
    const tracked = tracker.popular(1, 10)
    expect(tracked).toHaveLength(1)
    expect(alone(tracked[0].request)).toBe(true)
  })
})

describe('Codec', () => {
  const value = { body: 'the answer is '.repeat(400), events: '', n: 3 }

  it.each([
    ['gzip', 'msgpack'],
    ['brotli', 'msgpack'],
    ['zstd', 'json'],
    ['gzip', 'json'],
  ] as const)('round-trips with %s and %s, smaller than it came', (algorithm, format) => {
    const codec = new Codec({ compress: true, algorithm, level: 6, thresholdBytes: 1024, format })
    const { record, rawBytes } = codec.encode(value)
    expect(record.length).toBeLessThan(rawBytes / 4)
    expect(codec.decode(record)).toEqual(value)
  })

  it('leaves records under the threshold uncompressed', () => {
    const codec = new Codec({
      compress: true,
      algorithm: 'gzip',
      level: 6,
      thresholdBytes: 1024,
      format: 'msgpack',
    })
    const small = { body: 'short' }
    const { record, rawBytes } = codec.encode(small)
    expect(record[0] & 0b11).toBe(0)
    expect(record.length).toBe(rawBytes)
    expect(codec.decode(record)).toEqual(small)
  })

  it('gives each record bytes of its own: one encoder writes them all, compressed or not', () => {
    const codec = new Codec({
      compress: true,
      algorithm: 'zstd',
      level: 3,
      thresholdBytes: 64,
      format: 'msgpack',
    })
    const values = [{ body: 'first' }, { body: 'x'.repeat(5000) }, { body: 'second, longer than the first' }]
    const records = values.map((value) => codec.encode(value).record)
    records.forEach((record, i) => {
      expect(codec.decode(record)).toEqual(values[i])
      expect(record.byteOffset === 0 && record.buffer.byteLength === record.length).toBe(true)
    })
  })

  it('keeps byte fields as bytes, in msgpack and in JSON', () => {
    const bytes = { body: Buffer.from('{"id":"x"}'), n: 1 }
    for (const format of ['msgpack', 'json'] as const) {
      const codec = new Codec({ ...plain, format })
      const back = codec.decode<{ body: Uint8Array; n: number }>(codec.encode(bytes).record)
      expect(Buffer.from(back.body).toString()).toBe('{"id":"x"}')
      expect(back.n).toBe(1)
    }
  })

  it('reads records written with other settings (another instance, through Redis)', () => {
    const writer = new Codec({
      compress: true,
      algorithm: 'brotli',
      level: 5,
      thresholdBytes: 0,
      format: 'json',
    })
    const reader = new Codec(plain)
    expect(reader.decode(writer.encode(value).record)).toEqual(value)
  })
})

describe('cache key', () => {
  const sig = 'gpt-4o-mini|openai-a/gpt-4o-mini'
  const base = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
    temperature: 0,
    max_tokens: 9,
  }

  it('is the same whatever the order of fields, and whether streamed or not', () => {
    const reordered = {
      max_tokens: 9,
      temperature: 0,
      messages: [{ content: 'hi', role: 'user' }],
      model: 'alias',
    }
    expect(responseKey(reordered, sig)).toBe(responseKey(base, sig))
    const streamed = { ...base, stream: true, stream_options: { include_usage: true }, user: 'u1' }
    expect(responseKey(streamed, sig)).toBe(responseKey(base, sig))
    expect(responseKey({ ...base, seed: null }, sig)).toBe(responseKey(base, sig))
  })

  it('changes with every field that changes the answer, and with the route', () => {
    const keys = new Set(
      [
        base,
        { ...base, temperature: 0.2 },
        { ...base, top_p: 0.5 },
        { ...base, max_tokens: 10 },
        { ...base, stop: ['\n'] },
        { ...base, seed: 1 },
        { ...base, n: 2 },
        { ...base, tools: [{ type: 'function', function: { name: 'f' } }] },
        { ...base, tool_choice: 'none' },
        { ...base, response_format: { type: 'json_object' } },
        { ...base, messages: [{ role: 'user', content: 'hi!' }] },
        { ...base, some_future_param: 1 },
      ].map((b) => responseKey(b, sig)),
    )
    expect(keys.size).toBe(12)
    expect(responseKey(base, `${sig}|anthropic-a/claude`)).not.toBe(responseKey(base, sig))
  })

  it('writes canonical JSON: sorted keys at every depth, arrays in order', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: 2 }], a: 'x', u: undefined })).toBe(
      '{"a":"x","b":[2,{"c":2,"d":1}]}',
    )
  })

  it('orders keys as Array.prototype.sort does, by insertion or not: the same key for the same request', () => {
    // Keys JSON.parse hands out in an order of its own (integer-like first), cases, accents, a
    // surrogate pair, prefixes; objects of 0 to 40 keys (by insertion up to 12, sorted beyond).
    const pool = [
      'b',
      'a',
      'B',
      '10',
      '9',
      '0',
      '-1',
      'é',
      'e',
      'ab',
      'a b',
      '😀',
      '\uffff',
      'Z',
      '_',
      'aa',
      '',
    ]
    let state = 7
    const next = (n: number) => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
      return Math.floor((state / 2_147_483_648) * n)
    }
    for (let n = 0; n < 300; n++) {
      const size = next(41)
      const object: Record<string, number> = {}
      for (let i = 0; i < size; i++) object[`${pool[next(pool.length)]}${next(3) === 0 ? next(100) : ''}`] = i
      expect(sortedKeys(object), JSON.stringify(object)).toEqual(Object.keys(object).sort())
    }
  })
})

describe('small pieces', () => {
  it('globs match model names', () => {
    expect(compileGlob('gpt-4o*').test('gpt-4o-mini')).toBe(true)
    expect(compileGlob('gpt-4o*').test('gpt-4o')).toBe(true)
    expect(compileGlob('gpt-4o*').test('xgpt-4o')).toBe(false)
    expect(compileGlob('claude-?-*').test('claude-3-haiku')).toBe(true)
    expect(compileGlob('claude-?-*').test('claude-35-haiku')).toBe(false)
    expect(compileGlob('a.b').test('axb')).toBe(false)
    expect(compileGlob('*mini').test('gpt-4o-mini-mini')).toBe(true)
    expect(compileGlob('*-*-*').test('a-b')).toBe(false)
    expect(compileGlob('*').test('')).toBe(true)
    expect(compileGlob('?').test('é')).toBe(true)
  })

  it('matches a pattern of many stars against a key without backtracking for ever', () => {
    // As a RegExp of `.*`s, eight stars took 76 s over three keys; thirty, longer than the universe.
    const key = 'f'.repeat(64)
    expect(compileGlob(`${'*'.repeat(30)}Z`).test(key)).toBe(false)
    expect(compileGlob(`${'*f'.repeat(30)}*`).test(key)).toBe(true)
    expect(compileGlob(`${'*f'.repeat(65)}*`).test(key)).toBe(false)
  })

  it('calls a request deterministic with one choice and temperature 0 or a seed', () => {
    expect(isDeterministic({ temperature: 0 })).toBe(true)
    expect(isDeterministic({ seed: 4, temperature: 1 })).toBe(true)
    expect(isDeterministic({})).toBe(false)
    expect(isDeterministic({ temperature: 0, n: 2 })).toBe(false)
  })

  it('tracks popularity with decay, in bounded memory', () => {
    const t = new PopularityTracker(64 * 1024)
    for (let i = 0; i < 12; i++) t.touch('hot', Buffer.from('{}'), false)
    t.touch('cold', Buffer.from('{}'), false)
    expect(t.popular(10, 10).map((p) => p.key)).toEqual(['hot'])
    t.decay()
    expect(t.score('hot')).toBe(6)
    expect(t.popular(10, 10)).toEqual([])
    for (let i = 0; i < 5000; i++) t.touch(`k${i}`, Buffer.alloc(100), false)
    expect(t.bytes()).toBeLessThanOrEqual(64 * 1024)
  })

  it('copies a request at its second sighting, the first when once makes it popular, never when nothing is warmed', () => {
    const body = Buffer.alloc(1000, 0x61)
    const twice = new PopularityTracker(1024 * 1024)
    twice.touch('k', body, false)
    const once = twice.bytes()
    expect(twice.score('k')).toBe(1)
    expect(twice.popular(1, 10)).toEqual([]) // counted, but nothing to fetch it again with
    twice.touch('k', body, true)
    expect(twice.bytes()).toBeGreaterThan(once + 1000)
    const [entry] = twice.popular(2, 10)
    expect(entry).toMatchObject({ key: 'k', score: 2 })
    expect(entry.request.equals(body) && entry.request !== body).toBe(true)
    const first = new PopularityTracker(1024 * 1024, 1)
    first.touch('k', body, false)
    expect(first.popular(1, 10)[0].request.equals(body)).toBe(true)
    const never = new PopularityTracker(1024 * 1024, Number.POSITIVE_INFINITY)
    for (let i = 0; i < 3; i++) never.touch('k', body, false)
    expect(never.score('k')).toBe(3)
    expect(never.bytes()).toBeLessThan(once + 1000)
    expect(never.popular(1, 10)).toEqual([])
  })

  it('keeps nothing for a key seen once but its bits, and counts its first sighting when it comes again', () => {
    const t = new PopularityTracker(1024 * 1024)
    const idle = t.bytes()
    for (let i = 0; i < 20_000; i++) t.touch(`once-${i}`, Buffer.alloc(500), false)
    // No entry for any of them (a false positive of the filter would make one, at its first access).
    expect(t.size).toBeLessThan(20)
    expect(t.bytes()).toBeLessThan(idle + 20 * 1100)
    expect(t.score('once-7')).toBe(1)
    expect(t.score('never-seen')).toBe(0)
    // Seen again: the entry counts both accesses, and the request is kept to fetch it again.
    t.touch('once-7', Buffer.from('{"again":true}'), false)
    expect(t.popular(2, 10)).toMatchObject([{ key: 'once-7', score: 2 }])
    // A key seen in the interval before counts half, as the counts of entries decay.
    t.touch('early', Buffer.from('{}'), false)
    t.decay()
    expect(t.score('early')).toBe(0.5)
    expect(t.score('once-7')).toBe(1)
    t.touch('early', Buffer.from('{}'), false)
    expect(t.score('early')).toBe(1.5)
    // Two intervals on, a single sighting is forgotten.
    t.touch('late', Buffer.from('{}'), false)
    t.decay()
    t.decay()
    expect(t.score('late')).toBe(0)
    t.touch('late', Buffer.from('{}'), false)
    expect(t.size).toBe(2) // once-7 and early
  })
})

describe('ConfigCache', () => {
  it('parses a file once per modification time and environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-cache-'))
    const file = join(dir, 'config.yaml')
    writeFileSync(file, 'server:\n  port: 8123\n')
    let loads = 0
    const configs = new ConfigCache({
      load: (o) => {
        loads++
        return loadConfig(o)
      },
    })
    const first = configs.load(file, {})
    expect(configs.load(file, {})).toBe(first)
    expect(loads).toBe(1)
    expect(configs.load(file, { PORT: '8124' }).server.port).toBe(8124)
    writeFileSync(file, 'server:\n  port: 8200\n')
    utimesSync(file, new Date(), new Date(Date.now() + 5000))
    expect(configs.load(file, {}).server.port).toBe(8200)
    expect(configs.figures()).toMatchObject({ hits: 1, misses: 3, entries: 3 })
  })
})
