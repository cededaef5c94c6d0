import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { checkAnswers, MIN_SHORTEST, measure } from '../bench/measure.ts'

// The closed-loop measurement behind npm run bench*: answers are checked whole, so a gateway that
// cuts some of them (still a 200) cannot pass for a cheaper one.

let server: Server | undefined
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

/** A server answering 2 KB of SSE-like text, every `cutEvery`-th answer cut to its first 200 bytes. */
async function listen(cutEvery: number): Promise<string> {
  let n = 0
  const whole = `data: ${'x'.repeat(2000)}\n\n`
  server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(cutEvery > 0 && ++n % cutEvery === 0 ? whole.slice(0, 200) : whole)
    })
  })
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const load = (url: string) => measure({ url, path: '/', body: '{}', connections: 2, seconds: 1 })

describe('closed-loop measurement', () => {
  it('passes a run whose answers all came whole', async () => {
    const m = await load(await listen(0))
    expect(m.requests).toBeGreaterThan(0)
    expect(m.shortest).toBeCloseTo(1, 2)
    expect(() => checkAnswers('whole', m)).not.toThrow()
  })

  it('fails a run in which some 200 answers were cut short', async () => {
    const m = await load(await listen(25))
    expect(m.non2xx).toBe(0)
    expect(m.shortest).toBeLessThan(MIN_SHORTEST)
    expect(() => checkAnswers('cutting', m)).toThrow(
      /^cutting: an answer cut short \(the shortest \d+ % of the mean size\)$/,
    )
  })

  it('fails a run with errors or other statuses first', () => {
    const m = { rps: 1, requests: 10, errors: 0, non2xx: 2, shortest: 1, p50: 1, p90: 1, p99: 1 }
    expect(() => checkAnswers('refusing', m)).toThrow('refusing: 0 errors, 2 non-2xx answers')
    expect(() => checkAnswers('failing', { ...m, non2xx: 0, errors: 1 })).toThrow(/1 errors/)
  })
})
