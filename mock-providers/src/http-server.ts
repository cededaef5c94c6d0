import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { ByteCache } from './byte-cache.ts'
import { CONTROL_PREFIX, handleControl } from './control.ts'
import { errorPlan } from './core.ts'
import { mockError } from './errors.ts'
import type { MockService } from './mock-service.ts'
import { JSON_HEADERS, type ResponsePlan } from './plan.ts'
import type { Outcome } from './stats.ts'

const JSON_TYPE = JSON_HEADERS['content-type']
const kExchange = Symbol('mockExchange')
const MAX_BODY_BYTES = 32 * 1024 * 1024

type Carrier = { [kExchange]?: Exchange }

const READING = 0
const RUNNING = 1
const SETTLED = 2

/**
 * One request/response on the node:http adapter: reads the body, runs the core, then executes the
 * plan. Listeners and timer callbacks are module-level functions that find their Exchange on
 * the request/response (no closures per request); timers exist only for waits > 0.
 */
class Exchange {
  readonly service: MockService
  readonly bytes: ByteCache
  readonly req: IncomingMessage
  readonly res: ServerResponse
  body = ''
  bodyBytes = 0
  chunk: Buffer | null = null
  chunks: Buffer[] | null = null
  state = READING
  /** The plan the core made (what the limiter and stats know); `run` is what is executed. */
  planned: ResponsePlan | null = null
  run: ResponsePlan | null = null
  next = 0
  /** Ideal time of the last write; waits are measured from it so timer lateness does not add up. */
  due = 0
  woken = false
  timer: unknown = null

  constructor(service: MockService, bytes: ByteCache, req: IncomingMessage, res: ServerResponse) {
    this.service = service
    this.bytes = bytes
    this.req = req
    this.res = res
  }

  received(): void {
    const { req, res, service } = this
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const method = req.method ?? 'GET'
    if (path.startsWith(CONTROL_PREFIX)) {
      this.state = SETTLED
      const answer = handleControl(service, method, path, this.body)
      res.statusCode = answer.status
      res.setHeader('content-type', 'application/json')
      res.end(answer.body)
      return
    }
    let plan: ResponsePlan
    if (this.bodyBytes > MAX_BODY_BYTES) plan = errorPlan(service.wire, null, mockError(413))
    else {
      const query = q === -1 ? '' : url.slice(q + 1)
      try {
        plan = service.plan({ method, path, query, body: this.body, headers: req.headers })
      } catch (error) {
        plan = errorPlan(service.wire, null, mockError(500, `mock failure: ${(error as Error).message}`))
      }
    }
    this.body = ''
    this.planned = plan
    this.state = RUNNING
    const run = service.dispatch(plan, this)
    if (run !== null) this.execute(run)
  }

  /** Called by the limiter when a queued plan gets its slot. */
  start(): void {
    if (this.state === RUNNING && this.planned !== null) this.execute(this.planned)
  }

  execute(plan: ResponsePlan): void {
    this.run = plan
    if (plan.headersDelayMs > 0)
      this.timer = this.service.timers.setTimeout(onHeadersDue, plan.headersDelayMs, this)
    else this.head()
  }

  head(): void {
    const plan = this.run!
    const res = this.res
    if (!plan.sendHead) {
      if (plan.terminal === 'reset') this.closeByMock(true)
      return // hang: hold the socket until the client leaves or the server closes
    }
    if (!plan.stream && plan.delays === null && plan.terminal === 'end') {
      this.sendWhole(plan)
      return
    }
    res.writeHead(plan.status, plan.headers)
    if (plan.terminal === 'stall' || (plan.delays !== null && plan.delays[0] > 0)) res.flushHeaders()
    this.due = this.service.clock.now()
    this.pump()
  }

  /** A non-streaming body: parts encoded into one buffer (long repeated parts come from the cache), sent with its head in one writev. */
  sendWhole(plan: ResponsePlan): void {
    const { res, bytes } = this
    const chunks = plan.chunks
    let body: Buffer
    if (chunks.length === 1) body = Buffer.from(chunks[0])
    else {
      const parts = new Array<Buffer | string>(chunks.length)
      let length = 0
      for (let i = 0; i < chunks.length; i++) {
        const part = bytes.lookup(chunks[i])
        parts[i] = part
        length += typeof part === 'string' ? Buffer.byteLength(part) : part.length
      }
      body = Buffer.allocUnsafe(length)
      let at = 0
      for (const part of parts) at += typeof part === 'string' ? body.write(part, at) : part.copy(body, at)
    }
    const headers =
      plan.headers === JSON_HEADERS
        ? { 'content-type': JSON_TYPE, 'content-length': body.length }
        : { ...plan.headers, 'content-length': body.length }
    res.writeHead(plan.status, headers)
    res.end(body)
  }

  /**
   * Writes every chunk that is due, coalescing zero-wait chunks into one write, then waits or ends.
   * Waits run on a schedule (`due`, the ideal time of the last write) so timer lateness does not
   * add up, but a stall is never caught up by more than a quarter of a gap: no bursts of tokens.
   */
  pump(): void {
    const plan = this.run!
    const { chunks, delays } = plan
    let out = ''
    while (this.next < chunks.length) {
      const wait = delays === null ? 0 : delays[this.next]
      if (wait > 0 && !this.woken) {
        if (out !== '') this.res.write(out)
        const now = this.service.clock.now()
        this.due = Math.max(this.due + wait, now + wait * 0.75)
        // Whole milliseconds: timers of equal duration share one list in Node.
        this.timer = this.service.timers.setTimeout(onChunkDue, Math.round(this.due - now), this)
        return
      }
      this.woken = false
      out += chunks[this.next++]
    }
    if (plan.terminal === 'end') {
      this.res.end(out === '' ? undefined : out)
      return
    }
    if (out !== '') this.res.write(out)
    if (plan.terminal === 'stall') this.keepAlive()
    else if (plan.terminal === 'cut' || plan.terminal === 'reset') this.closeByMock(plan.terminal === 'reset')
  }

  /** stall: the next keep-alive write, until the client leaves or the server closes (settle clears it). */
  keepAlive(): void {
    this.timer = this.service.timers.setTimeout(onKeepAliveDue, this.run!.keepAlive!.intervalMs, this)
  }

  /** cut: FIN after the written data, no chunked terminator; reset: RST (client sees ECONNRESET). */
  closeByMock(reset: boolean): void {
    this.settle('closed')
    const socket = this.req.socket
    if (reset) socket.resetAndDestroy()
    else socket.end()
  }

  settle(outcome: Outcome): void {
    if (this.state !== RUNNING) return
    this.state = SETTLED
    if (this.timer !== null) {
      this.service.timers.clearTimeout(this.timer)
      this.timer = null
    }
    this.service.settle(this.planned!, this, outcome)
  }
}

function onHeadersDue(ex: Exchange): void {
  ex.timer = null
  ex.head()
}

function onChunkDue(ex: Exchange): void {
  ex.timer = null
  // Node starts a timer from the event loop's cached time, which lags under load: a timer can
  // fire before its chunk is due. Wait out the rest rather than send the chunk early.
  const early = ex.due - ex.service.clock.now()
  if (early >= 1) {
    ex.timer = ex.service.timers.setTimeout(onChunkDue, Math.ceil(early), ex)
    return
  }
  ex.woken = true
  ex.pump()
}

function onKeepAliveDue(ex: Exchange): void {
  ex.timer = null
  if (ex.state !== RUNNING) return
  ex.res.write(ex.run!.keepAlive!.bytes)
  ex.keepAlive()
}

function onData(this: IncomingMessage & Carrier, chunk: Buffer): void {
  const ex = this[kExchange]!
  if (ex.bodyBytes > MAX_BODY_BYTES) return
  ex.bodyBytes += chunk.length
  if (ex.chunk === null) ex.chunk = chunk
  else if (ex.chunks === null) ex.chunks = [ex.chunk, chunk]
  else ex.chunks.push(chunk)
}

function onEnd(this: IncomingMessage & Carrier): void {
  const ex = this[kExchange]!
  // Decoded once at the end: no StringDecoder per request; most bodies arrive in one chunk.
  if (ex.chunks !== null) ex.body = Buffer.concat(ex.chunks).toString()
  else if (ex.chunk !== null) ex.body = ex.chunk.toString()
  ex.chunk = null
  ex.chunks = null
  ex.received()
}

/** Fires after a normal end and when the client goes away: the one place outcomes are counted. */
function onClose(this: ServerResponse & Carrier): void {
  const ex = this[kExchange]!
  if (ex.state === READING) ex.state = SETTLED
  else ex.settle(this.writableFinished ? 'completed' : 'aborted')
}

function onRequest(
  service: MockService,
  bytes: ByteCache,
  req: IncomingMessage & Carrier,
  res: ServerResponse & Carrier,
): void {
  const ex = new Exchange(service, bytes, req, res)
  req[kExchange] = ex
  res[kExchange] = ex
  res.on('close', onClose)
  if (req.method === 'GET' || req.method === 'HEAD') {
    req.resume()
    ex.received()
    return
  }
  req.on('data', onData)
  req.on('end', onEnd)
}

/** The node:http adapter: a plain server executing the core's plans. `requestTimeout: 0` lets hangs hang. */
export function createMockHttpServer(service: MockService): Server {
  const bytes = new ByteCache()
  return createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, (req, res) =>
    onRequest(service, bytes, req, res),
  )
}
