// Hostile clients: a phase's fault that is a client, not a provider. A few clients send prompts built
// to cost the proxy the most per byte (one word of megabytes, or base64: the tokenizer's worst cases;
// JSON nested millions deep, or millions of empty objects: the parser's) back to back, beside the run's load; the load's assertions judge whether everyone else is still
// served. The clients' own answers are kept as a count by status, for the timeline.

import { randomBytes } from 'node:crypto'
import { Agent, request } from 'undici'

export type HostileSpec = {
  readonly route: 'chat' | 'condense'
  readonly text: 'one_word' | 'base64' | 'deep_json' | 'wide_json'
  readonly size_kb: number
  readonly clients: number
  readonly model: string
}

const PATHS = { chat: '/v1/chat/completions', condense: '/v1/context/condense' } as const
const REQUEST_TIMEOUT_MS = 60_000

/** The prompt's text: `size_kb` KiB of one letter, or of base64. */
export function hostileText(
  spec: { readonly text: 'one_word' | 'base64'; readonly size_kb: number },
  random = randomBytes,
): string {
  const chars = spec.size_kb * 1024
  if (spec.text === 'one_word') return 'z'.repeat(chars)
  return random(Math.ceil((chars * 3) / 4))
    .toString('base64')
    .slice(0, chars)
}

export function hostileBody(spec: HostileSpec): string {
  if (spec.text === 'deep_json' || spec.text === 'wide_json') return jsonBomb(spec, spec.text)
  const messages = [{ role: 'user', content: hostileText({ text: spec.text, size_kb: spec.size_kb }) }]
  // A target the prompt fits: the proxy counts it and answers, no summary is written.
  return JSON.stringify(
    spec.route === 'condense'
      ? { model: spec.model, messages, target_tokens: 100_000_000 }
      : { model: spec.model, messages, max_tokens: 1 },
  )
}

/**
 * A request of `size_kb` KiB whose `metadata` is JSON built to cost its parser the most: arrays
 * nested as deep as the bytes allow, or empty objects side by side (about 0.2 us a level and 0.15 us
 * an object in V8's JSON.parse, against a few nanoseconds a byte of text).
 */
function jsonBomb(spec: HostileSpec, kind: 'deep_json' | 'wide_json'): string {
  const base = JSON.stringify({
    model: spec.model,
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 1,
    metadata: 0,
  })
  const room = Math.max(4, spec.size_kb * 1024 - base.length)
  const value =
    kind === 'deep_json'
      ? `${'['.repeat(Math.floor(room / 2))}${']'.repeat(Math.floor(room / 2))}`
      : `[${'{},'.repeat(Math.floor((room - 4) / 3))}{}]`
  return base.replace('"metadata":0', `"metadata":${value}`)
}

/** The clients of one phase: started when it begins, stopped (requests in flight cut) when it ends. */
export class HostileClients {
  readonly #controller = new AbortController()
  readonly #agent = new Agent({ connections: 8 })
  readonly #statuses = new Map<string, number>()
  readonly #loops: Promise<void>[] = []

  constructor(spec: HostileSpec, target: string, apiKey: string) {
    const url = new URL(target)
    const body = hostileBody(spec)
    const path = url.pathname.replace(/\/$/, '') + PATHS[spec.route]
    for (let i = 0; i < spec.clients; i++) this.#loops.push(this.#loop(url.origin, path, body, apiKey))
  }

  async #loop(origin: string, path: string, body: string, apiKey: string): Promise<void> {
    const stop = this.#controller.signal
    while (!stop.aborted) {
      const signal = AbortSignal.any([stop, AbortSignal.timeout(REQUEST_TIMEOUT_MS)])
      let outcome: string
      try {
        const res = await request(origin + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
          body,
          signal,
          dispatcher: this.#agent,
        })
        await res.body.dump({ limit: Number.POSITIVE_INFINITY })
        outcome = String(res.statusCode)
      } catch {
        if (stop.aborted) return
        outcome = signal.aborted ? 'timeout' : 'error'
        // A refused connection would otherwise spin: the next try waits a little.
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      this.#statuses.set(outcome, (this.#statuses.get(outcome) ?? 0) + 1)
    }
  }

  /** Stops every client (requests in flight are cut); resolves with how the others ended, e.g. "12 answered: 200 x12". */
  async stop(): Promise<string> {
    this.#controller.abort()
    await Promise.all(this.#loops)
    await this.#agent.close()
    const ended = [...this.#statuses.values()].reduce((a, b) => a + b, 0)
    const by = [...this.#statuses].map(([status, n]) => `${status} x${n}`).join(', ')
    return `${ended} answered${by ? `: ${by}` : ''}`
  }
}
