import { digest } from '../cache/key.ts'
import type { RecordCache } from '../cache/store.ts'
import { NEVER } from '../cancel.ts'
import type { Json } from '../providers/types.ts'
import type { Summarizer } from './summarizer.ts'
import { MESSAGE_OVERHEAD, promptTokens, REPLY_PRIMING, type TokenCounter } from './tokens.ts'

export interface Summary {
  readonly text: string
  readonly tokens: number
}

export interface CondenseInput {
  /** The model the conversation is for (and the summarizer when condensation.model is unset). */
  readonly model: string
  readonly messages: readonly Json[]
  readonly targetTokens: number
  /** Each message's tokens when the caller has counted them already (TokenCounter.sizes). */
  readonly sizes?: readonly number[]
}

export interface CondenseResult {
  readonly messages: Json[]
  /** False when the conversation already fits, or when nothing older than the last turns is left to summarize. */
  readonly condensed: boolean
  readonly tokensBefore: number
  readonly tokensAfter: number
  readonly targetTokens: number
  readonly withinTarget: boolean
  /** Messages replaced by the summary. */
  readonly summarized: number
  readonly summaryTokens: number
  /** The summary came from the summary cache. */
  readonly summaryCached: boolean
  readonly summaryModel: string | null
}

export interface CondenserSettings {
  /** condensation.model; undefined: the conversation's own model. */
  readonly model: string | undefined
  readonly summaryMaxTokens: number
}

const SUMMARY_HEADER = (n: number) =>
  `Summary of the ${n} earlier messages of this conversation (condensed by the proxy):\n`
const PINNED = new Set(['system', 'developer'])

/**
 * Context condensation: system messages are kept, then the most recent turns that fit the target
 * next to a summary, and the older turns are replaced by that summary, written by the
 * summarization model and cached by a hash of the turns it replaces (and the model and length
 * asked), so a conversation that grows by one turn at a time re-summarizes only when its older
 * part changes. Concurrent identical summaries share one call.
 */
export class Condenser {
  readonly #tokens: TokenCounter
  readonly #summarizer: Summarizer
  readonly #cache: RecordCache<Summary, { model: string }> | undefined
  readonly #settings: CondenserSettings
  readonly #windowOf: (model: string) => number | undefined
  readonly #pending = new Map<string, Promise<Summary>>()

  constructor(deps: {
    tokens: TokenCounter
    summarizer: Summarizer
    cache: RecordCache<Summary, { model: string }> | undefined
    settings: CondenserSettings
    /** The context window of a routed model, when known (configuration or model discovery). */
    windowOf?: (model: string) => number | undefined
  }) {
    this.#windowOf = deps.windowOf ?? (() => undefined)
    this.#tokens = deps.tokens
    this.#summarizer = deps.summarizer
    this.#cache = deps.cache
    this.#settings = deps.settings
  }

  get tokens(): TokenCounter {
    return this.#tokens
  }

  /** Not tied to a client: a summary being written is cached for the next one even if this one leaves. */
  async condense(input: CondenseInput): Promise<CondenseResult> {
    const { messages, targetTokens } = input
    const sizes = input.sizes ?? (await this.#tokens.sizes(messages))
    const before = promptTokens(sizes)
    const unchanged = (within: boolean): CondenseResult => ({
      messages: [...messages],
      condensed: false,
      tokensBefore: before,
      tokensAfter: before,
      targetTokens,
      withinTarget: within,
      summarized: 0,
      summaryTokens: 0,
      summaryCached: false,
      summaryModel: null,
    })
    if (before <= targetTokens) return unchanged(true)

    const pinned: number[] = []
    const turns: number[] = []
    for (let i = 0; i < messages.length; i++) (PINNED.has(messages[i]?.role) ? pinned : turns).push(i)
    const pinnedTokens = pinned.reduce((sum, i) => sum + sizes[i], 0)
    const summaryBudget = Math.max(
      16,
      Math.min(this.#settings.summaryMaxTokens, Math.floor(targetTokens / 4)),
    )
    let budget = targetTokens - REPLY_PRIMING - pinnedTokens - summaryBudget - MESSAGE_OVERHEAD - 24

    // The most recent turns that fit, at least the last one.
    let first = turns.length
    while (first > 0 && (first === turns.length || sizes[turns[first - 1]] <= budget)) {
      first--
      budget -= sizes[turns[first]]
    }
    // A tool result needs the assistant message that called the tool.
    while (first > 0 && messages[turns[first]]?.role === 'tool') first--
    const older = turns.slice(0, first).filter((i) => !PINNED.has(messages[i]?.role))
    if (older.length === 0) return unchanged(false)

    const model = this.#settings.model ?? input.model
    const { summary, cached } = await this.#summary(
      model,
      older.map((i) => messages[i]),
      older.map((i) => sizes[i]),
      summaryBudget,
    )
    const summaryMessage = { role: 'system', content: SUMMARY_HEADER(older.length) + summary.text }
    const kept = turns.slice(first)
    const result: Json[] = [
      ...pinned.map((i) => messages[i]),
      summaryMessage,
      ...kept.map((i) => messages[i]),
    ]
    // Messages are counted one by one: only the summary is new.
    const [summarySize] = await this.#tokens.sizes([summaryMessage])
    const after = promptTokens([...pinned.map((i) => sizes[i]), summarySize, ...kept.map((i) => sizes[i])])
    return {
      messages: result,
      condensed: true,
      tokensBefore: before,
      tokensAfter: after,
      targetTokens,
      withinTarget: after <= targetTokens,
      summarized: older.length,
      summaryTokens: summary.tokens,
      summaryCached: cached,
      summaryModel: model,
    }
  }

  async #summary(
    model: string,
    older: Json[],
    sizes: readonly number[],
    maxTokens: number,
  ): Promise<{ summary: Summary; cached: boolean }> {
    const key = digest('summary', model, maxTokens, older)
    const slot = this.#cache?.get(key)
    if (slot) return { summary: this.#cache!.decode(slot), cached: true }
    let pending = this.#pending.get(key)
    if (!pending) {
      // Not tied to one client: the summary is cached for the next one even if this one leaves.
      pending = this.#write(model, older, sizes, maxTokens)
        .then(async (text) => {
          const summary = { text, tokens: await this.#tokens.text(text) }
          this.#cache?.set(key, summary, { model })
          return summary
        })
        .finally(() => this.#pending.delete(key))
      this.#pending.set(key, pending)
    }
    return { summary: await pending, cached: false }
  }

  /**
   * One summarization call, or, when the turns would not fit the summarization model's own
   * window, one call per group of turns that fits, the partial summaries joined. A single turn
   * larger than a group is cut (its start is kept).
   */
  async #write(model: string, older: Json[], sizes: readonly number[], maxTokens: number): Promise<string> {
    // Not tied to one client: the summary is cached for the next one even if this one leaves.
    const signal = NEVER
    const window = this.#windowOf(model)
    const limit = window === undefined ? Number.POSITIVE_INFINITY : Math.floor(window * 0.8) - maxTokens - 200
    const total = sizes.reduce((a, b) => a + b, 0)
    if (total <= limit) return this.#summarizer.summarize(model, older, maxTokens, signal)
    if (limit < 64)
      throw new RangeError(`the summarization model's window (${window}) is too small to summarize`)
    const groups: Json[][] = []
    let group: Json[] = []
    let used = 0
    older.forEach((message, i) => {
      const size = Math.min(sizes[i], limit)
      if (used + size > limit && group.length > 0) {
        groups.push(group)
        group = []
        used = 0
      }
      group.push(sizes[i] > limit ? cut(message, limit) : message)
      used += size
    })
    if (group.length > 0) groups.push(group)
    const share = Math.max(16, Math.floor(maxTokens / groups.length))
    const parts = await Promise.all(groups.map((g) => this.#summarizer.summarize(model, g, share, signal)))
    return parts.join('\n')
  }
}

/** A message cut to about `tokens` tokens (3 characters a token is a low estimate: it errs short). */
function cut(message: Json, tokens: number): Json {
  const text = typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '')
  return { role: message.role, content: `${text.slice(0, tokens * 3)} [truncated]` }
}
