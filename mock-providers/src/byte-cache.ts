const MIN_CHARS = 256
const MAX_ENTRIES = 1024

/**
 * UTF-8 encodings of long strings the core hands out again and again (the cached tails of
 * non-streaming answers). Keyed by the string: a string that is the same object hashes once.
 */
export class ByteCache {
  readonly #entries = new Map<string, Buffer>()

  /** The cached encoding of a long string, or the string itself when it is short (encode it in place). */
  lookup(text: string): Buffer | string {
    if (text.length < MIN_CHARS) return text
    let bytes = this.#entries.get(text)
    if (bytes === undefined) {
      bytes = Buffer.from(text)
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear()
      this.#entries.set(text, bytes)
    }
    return bytes
  }
}
