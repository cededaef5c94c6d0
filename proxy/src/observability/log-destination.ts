import type { DestinationStream } from 'pino'

/** Where batches go: a sonic-boom in its `contentMode: 'buffer'` (its types know only strings). */
export interface Sink {
  write(data: Buffer): boolean
  flush(cb?: (err?: Error) => void): void
  flushSync(): void
}

/**
 * Log lines copied, as they come, into a buffer of `size` bytes, handed to the destination (a
 * sonic-boom taking buffers) when the next line would not fit or on `flush()`. A line's string is
 * garbage as soon as it is written here, and the destination writes bytes it never has to measure
 * or encode: given strings, sonic-boom measures the UTF-8 length of what it gathers on every write
 * and encodes each batch twice (to write it, then again to find what is left once written). Every
 * logger of the process writes here, so lines keep their order.
 */
export class LineBatch implements DestinationStream {
  readonly #sink: Sink
  readonly #size: number
  #buffer: Buffer
  #used = 0

  constructor(sink: Sink, size: number) {
    this.#sink = sink
    this.#size = size
    this.#buffer = Buffer.allocUnsafeSlow(size)
  }

  write(line: string): boolean {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a line that fits that way fits.
    const most = line.length * 3
    if (this.#size - this.#used < most) {
      this.#hand()
      if (most > this.#size) {
        this.#sink.write(Buffer.from(line))
        return true
      }
    }
    this.#used += this.#buffer.write(line, this.#used)
    return true
  }

  /** Hands what has gathered to the destination and asks it to write. */
  flush(cb?: (err?: Error) => void): void {
    this.#hand()
    this.#sink.flush(cb)
  }

  /** Everything gathered, written before this returns (at exit). */
  flushSync(): void {
    this.#hand()
    this.#sink.flushSync()
  }

  #hand(): void {
    const used = this.#used
    if (used === 0) return
    this.#used = 0
    // The destination keeps what it is given until written: a few lines (a quiet spell's flush)
    // go as a copy and the buffer is used again; a full one goes as it is, and another is taken.
    if (used < this.#size / 4) {
      this.#sink.write(Buffer.from(this.#buffer.subarray(0, used)))
      return
    }
    const full = this.#buffer.subarray(0, used)
    this.#buffer = Buffer.allocUnsafeSlow(this.#size)
    this.#sink.write(full)
  }
}
