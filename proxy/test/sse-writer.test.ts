import { once } from 'node:events'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { contiguousRuns, SseWriter } from '../src/pipeline/sse-writer.ts'
import { SSE_DONE } from '../src/providers/sse.ts'

// The client side of a stream: how its last bytes leave. [DONE] and the end of the chunked body go
// out in one write when the end follows in the same turn of the event loop, and [DONE] is never
// held back when it does not.

const EVENT = Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n')
const BODY = `${EVENT}${EVENT}${SSE_DONE}`

/** Counts the writes that reach the socket's handle (each one a system call). */
function countWrites(res: ServerResponse): { count: number } {
  const counter = { count: 0 }
  const handle = (res.socket as unknown as { _handle: Record<string, unknown> })._handle
  for (const name of ['writev', 'writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString']) {
    const original = handle[name] as (...args: unknown[]) => unknown
    handle[name] = function (this: unknown, ...args: unknown[]) {
      counter.count++
      return original.apply(this, args)
    }
  }
  return counter
}

function writerFor(res: ServerResponse): SseWriter {
  return new SseWriter(res, {
    headers: {},
    pingMs: 0,
    monotonic: () => performance.now(),
    errorEvent: () => Buffer.from('data: {"error":{}}\n\n'),
  })
}

let server: Server | undefined
const agent = new Agent({ keepAliveTimeout: 10_000 })

afterEach(async () => {
  server?.closeAllConnections()
  server?.close()
  server = undefined
})

async function listen(handler: (res: ServerResponse) => void): Promise<string> {
  server = createServer((_req, res) => handler(res))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

/**
 * A stream that sent EVENT, then, as a relay does, the provider's last read (`chunks`) and its end a
 * promise later: the body the client read, and the writes that reached the socket from that read on.
 */
async function lastRead(chunks: readonly Buffer[]): Promise<{ body: string; writes: number[] }> {
  const writes: number[] = []
  const url = await listen((res) => {
    const counter = countWrites(res)
    const writer = writerFor(res)
    writer.commit()
    writer.write(EVENT)
    setTimeout(() => {
      const before = counter.count
      writer.writeAll(chunks)
      Promise.resolve().then(() => {
        writer.end()
        res.once('finish', () => writes.push(counter.count - before))
      })
    }, 5)
  })
  const res = await request(url, { dispatcher: agent })
  return { body: await res.body.text(), writes }
}

describe('SSE writer', () => {
  it('sends [DONE] and the end of the body in one write when the end follows at once', async () => {
    const { body, writes } = await lastRead([EVENT, SSE_DONE])
    expect(body).toBe(BODY)
    expect(writes).toEqual([1])
  })

  it('sends [DONE] within the turn when the end does not follow', async () => {
    let writer: SseWriter | undefined
    const url = await listen((res) => {
      writer = writerFor(res)
      writer.commit()
      writer.writeAll([EVENT, SSE_DONE])
    })
    const res = await request(url, { dispatcher: agent })
    let text = ''
    for await (const chunk of res.body) {
      text += chunk
      // The response ends only once the client has seen [DONE]: held back, it never would.
      if (text.endsWith(String(SSE_DONE))) writer?.end()
    }
    expect(text).toBe(`${EVENT}${SSE_DONE}`)
  })

  it('leaves the connection clean for the next response on it', async () => {
    const url = await listen((res) => {
      const writer = writerFor(res)
      writer.commit()
      writer.writeAll([EVENT, EVENT, SSE_DONE])
      Promise.resolve().then(() => writer.end())
    })
    const bodies: string[] = []
    for (let i = 0; i < 3; i++) bodies.push(await (await request(url, { dispatcher: agent })).body.text())
    expect(bodies).toEqual([BODY, BODY, BODY])
  })

  it('sends the events of one read as views of its bytes, the rest gathered into the same write', async () => {
    // One read of a provider's stream: the events the proxy forwards are views of it, side by side.
    const read = Buffer.concat([EVENT, EVENT, EVENT])
    const first = read.subarray(0, EVENT.length)
    const rest = read.subarray(EVENT.length)
    const { body, writes } = await lastRead([first, rest, SSE_DONE])
    expect(body).toBe(`${EVENT}${read}${SSE_DONE}`)
    expect(writes).toEqual([1])
  })
})

describe('contiguous runs', () => {
  it('joins adjacent views of one buffer into one view of it, copying nothing', () => {
    const bytes = Buffer.from('abcdefghij')
    const [run] = contiguousRuns([bytes.subarray(0, 2), bytes.subarray(2, 5), bytes.subarray(5, 9)])
    expect(contiguousRuns([bytes.subarray(0, 2), bytes.subarray(2, 5)])).toHaveLength(1)
    expect(String(run)).toBe('abcdefghi')
    expect(run?.buffer).toBe(bytes.buffer)
    expect(run?.byteOffset).toBe(bytes.byteOffset)
  })

  it('keeps apart what is not adjacent, in order: a gap, another buffer, a view out of order', () => {
    const bytes = Buffer.from('abcdefghij')
    const other = Buffer.from('XY')
    const runs = contiguousRuns([
      bytes.subarray(0, 2),
      bytes.subarray(3, 5), // a gap: c is dropped
      other,
      bytes.subarray(5, 7),
      bytes.subarray(0, 1), // before the previous view, not after it
    ])
    expect(runs.map(String)).toEqual(['ab', 'de', 'XY', 'fg', 'a'])
  })

  it('returns a single chunk as it is', () => {
    const only = Buffer.from('data: x\n\n')
    expect(contiguousRuns([only])).toEqual([only])
    expect(contiguousRuns([only])[0]).toBe(only)
  })
})
