import { xorshift32 } from './random.ts'
import { FINAL_PIECE, SPACED_WORDS, STARTERS } from './vocabulary.ts'

/** A generated answer: its one-token pieces, their text, and whether max_tokens cut it short. */
export interface Completion {
  readonly pieces: readonly string[]
  /** The pieces joined; plain ASCII words, so it needs no JSON escaping. */
  readonly text: string
  readonly truncated: boolean
}

/**
 * The answer for a request: its natural length is drawn in [minTokens, maxTokens] from the content
 * seed; `limit` (the request's max_tokens) cuts it, which the wires report as length/max_tokens.
 * The same seed gives the same text, and a cut answer is a prefix of the uncut one.
 */
export function generateCompletion(
  contentSeed: number,
  minTokens: number,
  maxTokens: number,
  limit: number | null,
): Completion {
  return limitCompletion(naturalCompletion(contentSeed, minTokens, maxTokens), limit)
}

function naturalCompletion(contentSeed: number, minTokens: number, maxTokens: number): Completion {
  let state = xorshift32(contentSeed ^ 0x5bd1e995)
  const natural = minTokens + (state % (maxTokens - minTokens + 1))
  const pieces = new Array<string>(natural)
  state = xorshift32(state)
  pieces[0] = STARTERS[state % STARTERS.length]
  for (let i = 1; i < natural; i++) {
    state = xorshift32(state)
    pieces[i] = i === natural - 1 ? FINAL_PIECE : SPACED_WORDS[state % SPACED_WORDS.length]
  }
  return { pieces, text: pieces.join(''), truncated: false }
}

function limitCompletion(completion: Completion, limit: number | null): Completion {
  if (limit === null || limit >= completion.pieces.length) return completion
  const pieces = completion.pieces.slice(0, limit)
  return { pieces, text: pieces.join(''), truncated: true }
}

const CACHE_ENTRIES = 4096

/**
 * Remembers natural answers by content seed for one length range (load tests repeat prompts;
 * a cached answer is the same answer). Completions are immutable, so sharing them is safe.
 */
export class CompletionCache {
  readonly #minTokens: number
  readonly #maxTokens: number
  readonly #entries = new Map<number, Completion>()

  constructor(minTokens: number, maxTokens: number) {
    this.#minTokens = minTokens
    this.#maxTokens = maxTokens
  }

  get(contentSeed: number, limit: number | null): Completion {
    let natural = this.#entries.get(contentSeed)
    if (natural === undefined) {
      natural = naturalCompletion(contentSeed, this.#minTokens, this.#maxTokens)
      if (this.#entries.size >= CACHE_ENTRIES) this.#entries.clear()
      this.#entries.set(contentSeed, natural)
    }
    return limitCompletion(natural, limit)
  }
}
