// Tiny HTTP servers for the engine tests, on loopback port 0.
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { EnginePlan } from '../engines/plan.ts'

export type TestServer = { url: string; close(): Promise<void> }

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onHeaders?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const server: Server = createServer((req, res) => {
    onHeaders?.(req, res)
    // Read the body first, as a real server does, then answer.
    req.resume()
    req.on('end', () => handler(req, res))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Answers every request with a small JSON body after `latencyMs`. */
/**
 * Answers every request with a small JSON body exactly `latencyMs` after its headers arrived: a timer
 * to just short of the deadline, then setImmediate turns until it (timers alone fire up to 1 ms late).
 */
export function fixedLatencyServer(latencyMs: number): Promise<TestServer> {
  const answer = (res: ServerResponse, deadline: number) => {
    if (performance.now() < deadline) {
      setImmediate(answer, res, deadline)
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"object":"list","data":[]}')
  }
  return listen(
    (_req, res) => {
      const deadline = (res as ServerResponse & { arrivedAt: number }).arrivedAt + latencyMs
      setTimeout(answer, Math.max(0, Math.floor(deadline - performance.now()) - 1), res, deadline)
    },
    (_req, res) => {
      ;(res as ServerResponse & { arrivedAt: number }).arrivedAt = performance.now()
    },
  )
}

export type SseStep = { waitMs: number; write: string }

/** Plays the same SSE script to every request. */
export function scriptedSseServer(
  script: readonly SseStep[],
  options: { destroyAtEnd?: boolean } = {},
): Promise<TestServer> {
  return listen(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.flushHeaders()
    for (const step of script) {
      await new Promise((resolve) => setTimeout(resolve, step.waitMs))
      res.write(step.write)
    }
    if (options.destroyAtEnd) res.destroy()
    else res.end()
  })
}

export function contentChunk(text: string): string {
  return `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text } }] })}\n\n`
}

/**
 * A server in its own process, so that the test can SIGSTOP it: a stall the engine cannot see coming.
 * It answers `{}` at once, or with `sseChunks`, one prepared stream of that many content chunks and
 * [DONE]: almost nothing for the server to do, and a chunk to parse and time for the engine each.
 */
export async function childServer(
  options: { sseChunks?: number } = {},
): Promise<{ url: string; child: ChildProcess; close(): Promise<void> }> {
  const code = `
    const http = require('node:http')
    const chunks = ${options.sseChunks ?? 0}
    const sse = Buffer.from(Array.from({ length: chunks }, (_, i) => 'data: ' + JSON.stringify({ choices: [{ index: 0, delta: { content: 't' + i } }] }) + '\\n\\n').join('') + 'data: [DONE]\\n\\n')
    const server = http.createServer((req, res) => { req.resume(); req.on('end', () => {
      if (chunks > 0) { res.writeHead(200, {'content-type': 'text/event-stream', 'content-length': sse.length}); res.end(sse) }
      else { res.writeHead(200, {'content-type': 'application/json'}); res.end('{}') }
    }) })
    server.keepAliveTimeout = 60000
    server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port))
  `
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8')
    child.stdout!.once('data', (line: string) => resolve(Number(/port (\d+)/.exec(line)?.[1])))
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await exited
    },
  }
}

export function plan(overrides: Partial<EnginePlan>): EnginePlan {
  return {
    engine: 'native',
    targetUrl: 'http://127.0.0.1:1',
    apiKey: null,
    loadModel: 'open',
    arrival: 'constant',
    users: 50,
    rps: 20,
    durationS: 2,
    rampUpS: 0,
    thinkTimeS: undefined,
    mix: [{ name: 'models', weight: 1 }],
    corpus: { size: 20, zipfExponent: 1, models: ['gpt-4o-mini'] },
    seed: 1,
    requestTimeoutS: 10,
    drainS: 5,
    bucketS: 1,
    latencyPercentile: 95,
    samplesPerBucket: 500,
    ...overrides,
  }
}

/** Whether a process still runs (signal 0 probes without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
