import { type HttpHandler, HttpResponse, http } from 'msw'
import type { Clock, Timers } from './clock.ts'
import { CONTROL_PREFIX, handleControl } from './control.ts'
import { errorPlan } from './core.ts'
import { mockError } from './errors.ts'
import { type ProfileSource, resolveProfile } from './mock-server.ts'
import { MockService } from './mock-service.ts'
import type { ResponsePlan } from './plan.ts'
import type { StatsSnapshot } from './stats.ts'
import type { HeaderBag, WireName } from './wire.ts'

export const DEFAULT_BASE_URLS: Readonly<Record<WireName, string>> = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
}

export interface MswHandlersOptions {
  wire: WireName
  /** Origin the handlers answer for (paths are the wire's: /v1/..., /__mock/...). Default: the provider's API. */
  baseUrl?: string
  profile?: ProfileSource
  seed?: number
  clock?: Clock
  timers?: Timers
}

export interface MswMock {
  readonly handlers: HttpHandler[]
  readonly baseUrl: string
  readonly service: MockService
  stats(): StatsSnapshot
  setProfile(profile: ProfileSource): void
  reset(): void
  /** Releases hanging requests and stops the timeline. */
  close(): void
}

const encoder = new TextEncoder()

/** Waits `ms` through the mock's timers; false when the request was aborted first. */
function sleep(timers: Timers, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = () => {
      timers.clearTimeout(handle)
      resolve(false)
    }
    const handle = timers.setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort)
        resolve(true)
      },
      ms,
      undefined,
    )
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Executes plans as msw responses; the same core and runtime as the node:http adapter. */
class MswExecutor {
  readonly service: MockService
  readonly #hanging = new Set<() => void>()

  constructor(service: MockService) {
    this.service = service
  }

  async respond(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const method = request.method
    const body = method === 'GET' || method === 'HEAD' ? '' : await request.text()
    if (url.pathname.startsWith(CONTROL_PREFIX)) {
      const answer = handleControl(this.service, method, url.pathname, body)
      return new HttpResponse(answer.body, {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      })
    }
    const headers: HeaderBag = Object.fromEntries(request.headers)
    let plan: ResponsePlan
    try {
      plan = this.service.plan({ method, path: url.pathname, query: url.search.slice(1), body, headers })
    } catch (error) {
      plan = errorPlan(this.service.wire, null, mockError(500, `mock failure: ${(error as Error).message}`))
    }
    let start: () => void = () => {}
    const runner = { start: () => start() }
    const started = new Promise<void>((resolve) => {
      start = resolve
    })
    let run = this.service.dispatch(plan, runner)
    if (run === null) {
      await Promise.race([started, this.#until(request.signal)])
      if (request.signal.aborted) return this.#leave(plan, runner, 'aborted')
      run = plan
    }
    return this.#execute(run, plan, runner, request.signal)
  }

  close(): void {
    for (const release of this.#hanging) release()
    this.#hanging.clear()
    this.service.close()
  }

  #leave(planned: ResponsePlan, runner: { start(): void }, outcome: 'aborted' | 'closed'): Response {
    this.service.settle(planned, runner, outcome)
    return HttpResponse.error()
  }

  /** Resolves when the request is aborted or the mock closes. */
  #until(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        this.#hanging.delete(release)
        resolve()
      }
      this.#hanging.add(release)
      signal.addEventListener('abort', release, { once: true })
    })
  }

  /** A signal that aborts when the client's does, when end() is called, or when the mock closes. */
  #stallEnd(client: AbortSignal): { signal: AbortSignal; end(): void } {
    const halt = new AbortController()
    const end = () => {
      this.#hanging.delete(end)
      client.removeEventListener('abort', end)
      halt.abort()
    }
    this.#hanging.add(end)
    client.addEventListener('abort', end, { once: true })
    return { signal: halt.signal, end }
  }

  async #execute(
    run: ResponsePlan,
    planned: ResponsePlan,
    runner: { start(): void },
    signal: AbortSignal,
  ): Promise<Response> {
    const { timers } = this.service
    if (run.headersDelayMs > 0 && !(await sleep(timers, run.headersDelayMs, signal)))
      return this.#leave(planned, runner, 'aborted')
    if (!run.sendHead) {
      if (run.terminal === 'hang') {
        await this.#until(signal)
        return this.#leave(planned, runner, 'aborted')
      }
      return this.#leave(planned, runner, 'closed') // reset: a network error for the client
    }
    if (!run.stream && run.delays === null && run.terminal === 'end') {
      this.service.settle(planned, runner, 'completed')
      return new HttpResponse(run.chunks.join(''), { status: run.status, headers: run.headers })
    }
    const service = this.service
    const clock = service.clock
    const keepAlive = run.keepAlive
    // A stall ends only when the client leaves (its signal, or it cancels the body) or the mock closes.
    const stall = keepAlive === null ? null : this.#stallEnd(signal)
    let settled = false
    const settle = (outcome: 'completed' | 'aborted' | 'closed') => {
      if (settled) return
      settled = true
      stall?.end()
      service.settle(planned, runner, outcome)
    }
    let next = 0
    let bodyStarted = run.chunks.length > 0
    let due = clock.now()
    // Pull-based with no buffering: an error (cut) must not discard chunks the client has not read yet.
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          stall?.signal.addEventListener(
            'abort',
            () => {
              settle('aborted')
              controller.error(new Error('mock stall: the client left or the mock closed'))
            },
            { once: true },
          )
        },
        async pull(controller) {
          if (settled) return
          if (next < run.chunks.length) {
            const wait = run.delays === null ? 0 : run.delays[next]
            if (wait > 0) {
              due += wait
              if (!(await sleep(timers, Math.max(0, due - clock.now()), stall?.signal ?? signal)))
                return settle('aborted')
              if (clock.now() < due) due = clock.now()
            }
            controller.enqueue(encoder.encode(run.chunks[next++]))
            return
          }
          if (keepAlive !== null && stall !== null) {
            // The interceptor sends the head with the first body bytes: with no chunk before the
            // stall, the first keep-alive goes at once so the head is not held back an interval.
            if (!bodyStarted || (await sleep(timers, keepAlive.intervalMs, stall.signal))) {
              bodyStarted = true
              controller.enqueue(encoder.encode(keepAlive.bytes))
            }
            return
          }
          if (run.terminal === 'end') {
            settle('completed')
            controller.close()
          } else {
            settle('closed')
            controller.error(new Error(`mock ${run.fault ?? run.terminal}`))
          }
        },
        cancel() {
          settle('aborted')
        },
      },
      { highWaterMark: 0 },
    )
    // Explicit chunked framing: a cut then reaches socket-level clients as an incomplete body.
    return new HttpResponse(stream, {
      status: run.status,
      headers: { ...run.headers, 'transfer-encoding': 'chunked' },
    })
  }
}

/**
 * msw handlers for one wire, built on the same core as the node:http server. Use them with
 * setupServer (global fetch, node:http) or with createMswNetwork (also undici Pool/Client).
 */
export function createMswHandlers(options: MswHandlersOptions): MswMock {
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URLS[options.wire]).replace(/\/+$/, '')
  const service = new MockService({
    wire: options.wire,
    profile: resolveProfile(options.profile),
    seed: options.seed,
    clock: options.clock,
    timers: options.timers,
  })
  const executor = new MswExecutor(service)
  const handlers = [http.all(`${baseUrl}/*`, ({ request }) => executor.respond(request))]
  return {
    handlers,
    baseUrl,
    service,
    stats: () => service.stats(),
    setProfile: (profile) => service.setProfile(resolveProfile(profile)),
    reset: () => service.reset(),
    close: () => executor.close(),
  }
}
