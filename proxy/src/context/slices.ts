import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants'

/**
 * Text cut into slices a tokenizer counts in bounded time. gpt-tokenizer splits text into pieces
 * (a word, a run of punctuation or of whitespace) and merges each piece's bytes pairwise, in time
 * quadratic in the piece's length: a prompt of one 16 KB word took 0.2 s to count, 256 KB 33 s, 5 MB
 * never finished, all on the thread that serves every other request. A piece longer than MAX_PIECE
 * characters (a run of one character, a word longer than any real one) is therefore counted in
 * MAX_PIECE-character slices, an estimate within a token per slice; the rest of the text in slices
 * of up to MAX_SLICE characters cut between pieces, so that its count is exact (the split pattern
 * starts every piece afresh: it looks ahead, never behind). Slices this short also let a caller
 * give the event loop back between them.
 */
export const MAX_PIECE = 1024
export const MAX_SLICE = 4096

/**
 * Pieces the tokenizer should remember. gpt-tokenizer keeps 100,000 by default (each up to
 * MAX_PIECE characters: megabytes a client's text could fill), and past that forgets its oldest in
 * time that grows with the number kept: 2 MB of base64 took 14 s to count with 100,000, 2 s with
 * none. A couple of thousand keep a prompt's recurring words at no such cost.
 */
export const MERGE_CACHE_PIECES = 2000

const HIGH_SURROGATE_MIN = 0xd800
const HIGH_SURROGATE_MAX = 0xdbff

/** Yields the slices of `text` in order; together they are the whole text. */
export function* slices(text: string): Generator<string, void, undefined> {
  if (text.length <= MAX_PIECE) {
    if (text.length > 0) yield text
    return
  }
  let start = 0
  for (const match of text.matchAll(O200K_TOKEN_SPLIT_REGEX)) {
    const at = match.index
    const end = at + match[0].length
    if (end - at > MAX_PIECE) {
      if (at > start) yield text.slice(start, at)
      yield* cut(text, at, end)
      start = end
    } else if (end - start > MAX_SLICE) {
      yield text.slice(start, at)
      start = at
    }
  }
  if (start < text.length) yield text.slice(start)
}

/** `text[from, to)` in MAX_PIECE-character slices, never splitting a surrogate pair. */
function* cut(text: string, from: number, to: number): Generator<string, void, undefined> {
  for (let i = from; i < to; ) {
    let j = Math.min(i + MAX_PIECE, to)
    const last = text.charCodeAt(j - 1)
    if (j < to && last >= HIGH_SURROGATE_MIN && last <= HIGH_SURROGATE_MAX) j--
    yield text.slice(i, j)
    i = j
  }
}
