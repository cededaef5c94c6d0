import hdr from 'hdr-histogram-js'

// Latency over a sliding window: a ring of slots, each an HDR histogram in microseconds plus
// counters. Recording touches one slot (no allocation, no sorting); reading merges the live slots.
// Two significant digits (1 % precision) keep a slot at about 13 KB.

const HIGHEST_US = 3_600_000_000

function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 2,
    autoResize: false,
  })
}

interface Slot {
  epoch: number
  count: number
  failures: number
  sumMs: number
  readonly histogram: hdr.Histogram
}

/** A window's figures, in milliseconds. */
export interface WindowFigures {
  requests: number
  failures: number
  error_rate: number
  avg_ms: number | null
  p50_ms: number | null
  p95_ms: number | null
  p99_ms: number | null
  max_ms: number | null
}

/** What a worker sends its primary so windows can be merged across processes. */
export interface WindowExport {
  count: number
  failures: number
  sumMs: number
  /** The merged histogram, compressed (HdrHistogram's standard encoding). */
  histogram: string
}

export class SlidingWindow {
  readonly windowMs: number
  readonly #slotMs: number
  readonly #slots: Slot[]
  readonly #now: () => number
  readonly #scratch = newHistogram()

  constructor(windowMs: number, now: () => number, slots = 6) {
    this.windowMs = windowMs
    this.#slotMs = Math.max(1, Math.floor(windowMs / slots))
    this.#now = now
    this.#slots = Array.from({ length: slots }, () => ({
      epoch: -1,
      count: 0,
      failures: 0,
      sumMs: 0,
      histogram: newHistogram(),
    }))
  }

  /** `at`: the current time when the caller already read it (one clock read for several windows). */
  record(ms: number, failed: boolean, at = this.#now()): void {
    const epoch = Math.floor(at / this.#slotMs)
    const slot = this.#slots[epoch % this.#slots.length]
    if (slot.epoch !== epoch) {
      slot.epoch = epoch
      slot.count = 0
      slot.failures = 0
      slot.sumMs = 0
      slot.histogram.reset()
    }
    slot.count++
    if (failed) slot.failures++
    slot.sumMs += ms
    const us = ms <= 0 ? 1 : ms * 1000
    slot.histogram.recordValue(us < HIGHEST_US ? Math.ceil(us) : HIGHEST_US)
  }

  /** Merges the slots still inside the window into the scratch histogram; returns the counters. */
  #merge(): { count: number; failures: number; sumMs: number } {
    const current = Math.floor(this.#now() / this.#slotMs)
    const oldest = current - this.#slots.length + 1
    this.#scratch.reset()
    let count = 0
    let failures = 0
    let sumMs = 0
    for (const slot of this.#slots) {
      if (slot.epoch < oldest || slot.count === 0) continue
      count += slot.count
      failures += slot.failures
      sumMs += slot.sumMs
      this.#scratch.add(slot.histogram)
    }
    return { count, failures, sumMs }
  }

  figures(): WindowFigures {
    const { count, failures, sumMs } = this.#merge()
    return figuresOf(count, failures, sumMs, this.#scratch)
  }

  export(): WindowExport {
    const { count, failures, sumMs } = this.#merge()
    return { count, failures, sumMs, histogram: hdr.encodeIntoCompressedBase64(this.#scratch) }
  }
}

/** Figures of several processes' windows taken together. */
export function mergeWindows(exports: readonly WindowExport[]): WindowFigures {
  const merged = newHistogram()
  let count = 0
  let failures = 0
  let sumMs = 0
  for (const e of exports) {
    count += e.count
    failures += e.failures
    sumMs += e.sumMs
    if (e.count > 0) {
      const h = hdr.decodeFromCompressedBase64(e.histogram)
      merged.add(h)
      h.destroy()
    }
  }
  const out = figuresOf(count, failures, sumMs, merged)
  merged.destroy()
  return out
}

function figuresOf(count: number, failures: number, sumMs: number, h: hdr.Histogram): WindowFigures {
  const at = (p: number) => (count === 0 ? null : round(h.getValueAtPercentile(p) / 1000))
  return {
    requests: count,
    failures,
    error_rate: count === 0 ? 0 : round(failures / count, 4),
    avg_ms: count === 0 ? null : round(sumMs / count),
    p50_ms: at(50),
    p95_ms: at(95),
    p99_ms: at(99),
    max_ms: count === 0 ? null : round(h.maxValue / 1000),
  }
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
