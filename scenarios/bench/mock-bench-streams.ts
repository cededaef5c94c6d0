/**
 * Child process of mock-bench.ts: opens N concurrent streaming chat completions through a
 * node:http agent with N sockets and measures, at the client, every gap between two token chunks.
 * Prints one JSON line: gap count, median, p99 and max (ms), streams completed, time to first token.
 * usage: node mock-bench-streams.ts <url> <streams> <tokens>
 */
import { Agent, request } from 'node:http'

const [url, streamsArg, tokensArg] = process.argv.slice(2)
const streams = Number(streamsArg)
const tokens = Number(tokensArg)
const target = new URL('/v1/chat/completions', url)
const agent = new Agent({ keepAlive: true, maxSockets: streams })
const body = JSON.stringify({
  model: 'gpt-4o-mini',
  stream: true,
  max_tokens: tokens,
  messages: [{ role: 'user', content: 'Stream a long answer.' }],
})
const TOKEN_MARK = '"delta":{"content":"'

const gaps: number[] = []
const ttfts: number[] = []
let completed = 0
let tokensSeen = 0

function countTokens(text: string): number {
  let n = 0
  for (let at = text.indexOf(TOKEN_MARK); at !== -1; at = text.indexOf(TOKEN_MARK, at + 1)) n++
  return n
}

function one(): Promise<void> {
  return new Promise((resolve, reject) => {
    const sent = performance.now()
    let last = -1
    const req = request(
      target,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          const now = performance.now()
          const n = countTokens(chunk)
          if (n === 0) return
          tokensSeen += n
          if (last === -1) ttfts.push(now - sent)
          else gaps.push(now - last)
          for (let i = 1; i < n; i++) gaps.push(0) // tokens that arrived in the same read
          last = now
        })
        res.on('end', () => {
          completed++
          resolve()
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

const cpuBefore = process.cpuUsage()
const started = performance.now()
await Promise.all(Array.from({ length: streams }, one))
const elapsed = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
const sorted = Float64Array.from(gaps).sort()
const sortedTtft = Float64Array.from(ttfts).sort()
agent.destroy()
console.log(
  JSON.stringify({
    streams,
    completed,
    tokens: tokensSeen,
    gaps: sorted.length,
    median: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1],
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    ttftMedian: quantile(sortedTtft, 0.5),
    elapsedMs: elapsed,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  }),
)
