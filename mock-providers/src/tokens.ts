import { countTokens, setMergeCacheSize } from 'gpt-tokenizer/encoding/o200k_base'
import { MERGE_CACHE_PIECES, slices } from '../../proxy/src/context/slices.ts'

/**
 * Token accounting, one method everywhere (both wires, prompts and embeddings): text is counted
 * with the o200k_base tokenizer (gpt-4o's); a chat or messages prompt costs MESSAGE_OVERHEAD
 * tokens per message (system prompt included) plus its text, plus REPLY_PRIMING once.
 * Completions are built from one-token pieces, so their count is exact by construction. Text is
 * counted in the proxy's bounded slices: a prompt of one long word costs linear time, not quadratic.
 */
export const MESSAGE_OVERHEAD = 4
export const REPLY_PRIMING = 3

// A special token's text in a prompt (`<|endoftext|>`) is counted as the text it is, as the real
// APIs do; the tokenizer's default would refuse it with an exception.
export const AS_TEXT = { disallowedSpecial: new Set<string>() }

const MEMO_ENTRIES = 4096
const MEMO_MAX_CHARS = 16_384

/** Counts tokens of text; remembers recent strings because load tests repeat their prompts. */
export class TokenCounter {
  readonly #memo = new Map<string, number>()

  constructor() {
    setMergeCacheSize(MERGE_CACHE_PIECES)
  }

  count(text: string): number {
    if (text.length === 0) return 0
    let n = this.#memo.get(text)
    if (n !== undefined) return n
    n = 0
    for (const slice of slices(text)) n += countTokens(slice, AS_TEXT)
    if (text.length <= MEMO_MAX_CHARS) {
      if (this.#memo.size >= MEMO_ENTRIES) this.#memo.clear()
      this.#memo.set(text, n)
    }
    return n
  }
}
