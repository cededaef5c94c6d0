import { request } from 'undici'
import type { Clock, Timers } from '../src/index.ts'

/**
 * A clock and timers in one: time only moves when a timer fires. Every requested wait is recorded
 * in `waits`. With `auto` on, timers fire on the next turn of the event loop (tests run at full
 * speed); with it off, they fire when the test calls `fireNext()`.
 */
export class FakeTime implements Clock, Timers {
  t = 0
  auto: boolean
  readonly waits: number[] = []
  readonly #pending = new Map<number, { at: number; fire: () => void }>()
  #seq = 0

  constructor(auto = true) {
    this.auto = auto
  }

  now(): number {
    return this.t
  }

  epochMs(): number {
    return 1_750_000_000_000 + this.t
  }

  setTimeout<T>(callback: (arg: T) => void, ms: number, arg: T): unknown {
    const id = ++this.#seq
    this.waits.push(ms)
    this.#pending.set(id, { at: this.t + ms, fire: () => callback(arg) })
    if (this.auto) setImmediate(() => this.fire(id))
    return id
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number)
  }

  get pending(): number[] {
    return [...this.#pending.values()].map((p) => p.at - this.t)
  }

  fire(id: number): void {
    const timer = this.#pending.get(id)
    if (timer === undefined) return
    this.#pending.delete(id)
    if (timer.at > this.t) this.t = timer.at
    timer.fire()
  }

  fireNext(): void {
    const first = this.#pending.keys().next()
    if (!first.done) this.fire(first.value)
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      const due = [...this.#pending.entries()]
        .filter(([, p]) => p.at <= end)
        .sort((a, b) => a[1].at - b[1].at)
      if (due.length === 0) break
      this.fire(due[0][0])
    }
    this.t = end
  }
}

export async function waitUntil(check: () => boolean, what = 'condition', ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

export async function call(
  base: string,
  path: string,
  body?: unknown,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const res = await request(`${base}${path}`, {
    method: (init.method ?? (body === undefined ? 'GET' : 'POST')) as 'GET',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

export async function callJson(
  base: string,
  path: string,
  body?: unknown,
  init?: { method?: string; headers?: Record<string, string> },
) {
  const res = await call(base, path, body, init)
  return { ...res, json: JSON.parse(res.text) }
}

/** A streamed response read to its end: the raw text, its SSE data lines, and the error that ended it, if any. */
export interface StreamResult {
  status: number
  text: string
  data: string[]
  events: string[]
  error: Error | null
}

export async function stream(base: string, path: string, body: unknown): Promise<StreamResult> {
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  let text = ''
  let error: Error | null = null
  try {
    for await (const chunk of res.body) text += chunk.toString()
  } catch (e) {
    error = e as Error
  }
  const blocks = text.split('\n\n').filter((b) => b !== '')
  const data = blocks.flatMap((b) =>
    b
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6)),
  )
  const events = blocks.flatMap((b) =>
    b
      .split('\n')
      .filter((l) => l.startsWith('event: '))
      .map((l) => l.slice(7)),
  )
  return { status: res.statusCode, text, data, events, error }
}

export const CHAT = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say something about load tests.' }],
}
export const MESSAGES = {
  model: 'claude-3-5-haiku-latest',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Say something about load tests.' }],
}
