import { setImmediate } from 'node:timers/promises'
import { type Clock, systemClock } from '../clock.ts'
import type { Json } from '../providers/types.ts'
import { type CountTokens, loadO200k } from './encoding.ts'
import { slices } from './slices.ts'

/**
 * Chat token accounting with gpt-tokenizer's o200k_base encoding (gpt-4o's): each message costs
 * MESSAGE_OVERHEAD tokens plus its text, and the reply is primed with REPLY_PRIMING tokens, as
 * OpenAI documents for its chat models. Exact for OpenAI's o200k models; an estimate for others
 * (hence the safety margin when condensing). The encoding (about 18 MB resident, 0.3 s to load,
 * see encoding.ts) is loaded on first use, so a proxy that never condenses never pays for it.
 * Text is counted in bounded slices (slices.ts), and a long prompt gives the event loop back after
 * every TURN_MS of counting, so that other requests are served meanwhile.
 */
export const MESSAGE_OVERHEAD = 4
export const REPLY_PRIMING = 3
// Measured beside two clients sending 2 MiB prompts back to back (chaos hostile-prompts): everyone
// else's median latency was 65 ms with 10 ms turns, 45 ms with 3 ms, 37 ms with 1 ms, while the
// hostile prompts were counted no slower; a turn of the event loop costs microseconds.
const TURN_MS = 1

/** The text of a message as the tokenizer sees it: content parts, refusal, name and tool calls. */
export function messageText(message: Json): string {
  let text = ''
  const content = message?.content
  if (typeof content === 'string') text = content
  else if (Array.isArray(content)) {
    for (const part of content) if (typeof part?.text === 'string') text += part.text
  }
  if (typeof message?.name === 'string') text += message.name
  if (Array.isArray(message?.tool_calls)) {
    for (const call of message.tool_calls) {
      text += `${call?.function?.name ?? ''}${call?.function?.arguments ?? ''}`
    }
  }
  return text
}

/** Tokens of a whole prompt from its messages' sizes (TokenCounter.sizes): their sum plus the reply priming. */
export function promptTokens(sizes: readonly number[]): number {
  return sizes.reduce((total, n) => total + n, REPLY_PRIMING)
}

export class TokenCounter {
  readonly #clock: Pick<Clock, 'monotonic'>
  #count: CountTokens | undefined
  #loading: Promise<CountTokens> | undefined

  constructor(options: { clock?: Pick<Clock, 'monotonic'> } = {}) {
    this.#clock = options.clock ?? systemClock
  }

  /** Loads the encoding once; every count waits for it. */
  load(): Promise<CountTokens> {
    if (this.#count) return Promise.resolve(this.#count)
    this.#loading ??= loadO200k().then((count) => {
      this.#count = count
      return count
    })
    return this.#loading
  }

  async text(text: string): Promise<number> {
    return (await this.#each([text]))[0]
  }

  /** Tokens of each message, overhead included, counted one after another on one time budget. */
  async sizes(messages: readonly Json[]): Promise<number[]> {
    const counts = await this.#each(messages.map(messageText))
    return counts.map((n) => MESSAGE_OVERHEAD + n)
  }

  /** Tokens of a whole prompt: every message plus the reply priming. */
  async messages(messages: readonly Json[]): Promise<number> {
    return promptTokens(await this.sizes(messages))
  }

  async #each(texts: readonly string[]): Promise<number[]> {
    const count = await this.load()
    const counts: number[] = []
    let turn = this.#clock.monotonic()
    for (const text of texts) {
      let n = 0
      for (const slice of slices(text)) {
        n += count(slice)
        if (this.#clock.monotonic() - turn >= TURN_MS) {
          await setImmediate()
          turn = this.#clock.monotonic()
        }
      }
      counts.push(n)
    }
    return counts
  }
}
