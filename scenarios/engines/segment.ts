// Execution segments, as k6 names them: a run split over N generators, each running the part of the
// schedule that falls in its segment [a, b) of the unit interval, so that together they run the whole
// schedule exactly, each arrival (and each user, and each request of the seeded sequence) once.
//
// Arrival k of the schedule (0-based, in time order) belongs to one segment of a sequence of segments
// that cover [0, 1), e.g. 0, 1/3, 2/3, 1. With D the common denominator of the sequence, arrivals go in
// cycles of D; in each cycle a segment of width w owns exactly w * D positions, spread evenly over the
// cycle by largest remainder (the segment furthest behind its share takes the next position; ties to the
// first). Equal segments i/N therefore stripe: arrival k belongs to segment k mod N. Every prefix of the
// schedule is shared within one arrival of the exact proportions, whatever its length, so a shard runs
// its share of the rate all along the run (not a slice of its time), and the N shards together send
// every arrival exactly once. As in k6, every shard of a run must use the same sequence: `--segment i/N`
// implies the sequence of N equal segments; `--execution-segment a:b` alone implies 0, a, b, 1.

/** A fraction [numerator, denominator], reduced, denominator > 0. JSON-safe (plans cross IPC). */
export type Fraction = readonly [number, number]

export type ExecutionSegment = {
  readonly from: Fraction
  readonly to: Fraction
  /** The boundaries every shard of the run shares, from 0 to 1, increasing; includes from and to. */
  readonly sequence: readonly Fraction[]
}

/** The largest cycle (common denominator) accepted: an owner table of this many entries. */
export const MAX_DENOMINATOR = 1_000_000

export class SegmentError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SegmentError'
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? Math.abs(a) : gcd(b, a % b))
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b

function fraction(numerator: number, denominator: number): Fraction {
  const g = gcd(numerator, denominator) || 1
  return [numerator / g, denominator / g]
}

const less = (a: Fraction, b: Fraction) => a[0] * b[1] < b[0] * a[1]
const same = (a: Fraction, b: Fraction) => a[0] * b[1] === b[0] * a[1]

/** `1/3`, `0.25`, `0`, `1`, `50%` -> a fraction in [0, 1]. */
export function parseFraction(text: string): Fraction {
  const raw = text.trim()
  let result: Fraction | null = null
  const ratio = /^(\d+)\/(\d+)$/.exec(raw)
  const decimal = /^(\d+)(?:\.(\d+))?(%?)$/.exec(raw)
  if (ratio && Number(ratio[2]) > 0) result = fraction(Number(ratio[1]), Number(ratio[2]))
  else if (decimal) {
    const digits = decimal[2] ?? ''
    const scale = 10 ** digits.length * (decimal[3] ? 100 : 1)
    if (digits.length <= 6) result = fraction(Number(decimal[1] + digits), scale)
  }
  if (!result || result[0] > result[1] || !Number.isSafeInteger(result[1]))
    throw new SegmentError(`'${text}' is not a fraction from 0 to 1 (e.g. 1/3, 0.25, 50%)`)
  return result
}

export function formatFraction([n, d]: Fraction): string {
  return d === 1 ? String(n) : `${n}/${d}`
}

/** `a:b` as k6 writes it. */
export function formatSegment(segment: ExecutionSegment): string {
  return `${formatFraction(segment.from)}:${formatFraction(segment.to)}`
}

export function formatSequence(segment: ExecutionSegment): string {
  return segment.sequence.map(formatFraction).join(',')
}

/** The share of the schedule a segment runs, b - a. */
export function segmentShare(segment: ExecutionSegment): number {
  return segment.to[0] / segment.to[1] - segment.from[0] / segment.from[1]
}

/** The whole schedule: what a run without a segment runs. */
export const WHOLE: ExecutionSegment = {
  from: [0, 1],
  to: [1, 1],
  sequence: [
    [0, 1],
    [1, 1],
  ],
}

export function isWhole(segment: ExecutionSegment | undefined): boolean {
  return segment === undefined || (same(segment.from, [0, 1]) && same(segment.to, [1, 1]))
}

/** `--segment i/N`: segment i (0-based) of N equal ones. */
export function parseSegmentIndex(text: string): ExecutionSegment {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim())
  const index = Number(match?.[1])
  const count = Number(match?.[2])
  if (!match || !(count >= 1) || index >= count)
    throw new SegmentError(`'${text}' is not i/N with 0 <= i < N (segment i of N equal ones, 0-based)`)
  if (count > MAX_DENOMINATOR) throw new SegmentError(`at most ${MAX_DENOMINATOR} segments`)
  return {
    from: fraction(index, count),
    to: fraction(index + 1, count),
    sequence: Array.from({ length: count + 1 }, (_, i) => fraction(i, count)),
  }
}

/**
 * `--execution-segment a:b` (k6's form) with an optional `--execution-segment-sequence 0,a,...,1`; the
 * sequence defaults to 0, a, b, 1, and must contain a and b.
 */
export function parseExecutionSegment(text: string, sequenceText?: string): ExecutionSegment {
  const parts = text.split(':')
  if (parts.length !== 2) throw new SegmentError(`'${text}' is not a:b (e.g. 0:1/3, 1/3:2/3, 0.5:1)`)
  const from = parseFraction(parts[0])
  const to = parseFraction(parts[1])
  if (!less(from, to)) throw new SegmentError(`'${text}': a must be below b`)
  const listed: Fraction[] =
    sequenceText === undefined ? [[0, 1], from, to, [1, 1]] : sequenceText.split(',').map(parseFraction)
  if (sequenceText !== undefined && listed.some((f, i) => i > 0 && !less(listed[i - 1], f)))
    throw new SegmentError(`the sequence '${sequenceText}' must increase`)
  const sorted = dedupe(listed)
  if (!same(sorted[0], [0, 1]) || !same(sorted[sorted.length - 1], [1, 1]))
    throw new SegmentError(`the sequence '${sequenceText}' must run from 0 to 1`)
  if (!sorted.some((f) => same(f, from)) || !sorted.some((f) => same(f, to)))
    throw new SegmentError(`the sequence '${sequenceText}' must contain both ends of the segment ${text}`)
  return { from, to, sequence: sorted }
}

function dedupe(list: readonly Fraction[]): Fraction[] {
  const sorted = [...list].sort((a, b) => a[0] * b[1] - b[0] * a[1])
  return sorted.filter((f, i) => i === 0 || !same(f, sorted[i - 1]))
}

/** Which indices of the schedule (arrivals, users, requests) a segment owns. */
export type Striping = {
  /** Whether index k (0-based) is this segment's. */
  owns(index: number): boolean
  /** How many of the indices 0..n-1 are this segment's. */
  count(n: number): number
  /** The first index >= `from` this segment owns. */
  next(from: number): number
}

export function createStriping(segment: ExecutionSegment = WHOLE): Striping {
  const { sequence } = segment
  const cycle = sequence.reduce((d, f) => lcm(d, f[1]), 1)
  if (cycle > MAX_DENOMINATOR)
    throw new SegmentError(
      `the sequence ${formatSequence(segment)} cycles over ${cycle} arrivals (at most ${MAX_DENOMINATOR}): use simpler fractions`,
    )
  if (cycle * sequence.length > 50 * MAX_DENOMINATOR)
    throw new SegmentError(
      `the sequence ${formatSequence(segment)} is too fine (${sequence.length - 1} segments over ${cycle} arrivals)`,
    )
  const widths = sequence
    .slice(1)
    .map((f, i) => (f[0] * cycle) / f[1] - (sequence[i][0] * cycle) / sequence[i][1])
  // A segment may span several consecutive segments of the sequence (0:2/3 of thirds).
  const first = sequence.findIndex((f) => same(f, segment.from))
  const end = sequence.findIndex((f) => same(f, segment.to))
  if (first < 0 || end <= first)
    throw new SegmentError(
      `${formatSegment(segment)} does not lie on the sequence ${formatSequence(segment)}`,
    )
  // prefix[p]: how many of the positions 0..p-1 of a cycle are this segment's.
  const prefix = new Int32Array(cycle + 1)
  const given = new Float64Array(widths.length)
  for (let p = 0; p < cycle; p++) {
    let best = 0
    let bestDeficit = Number.NEGATIVE_INFINITY
    for (let j = 0; j < widths.length; j++) {
      const deficit = (p + 1) * widths[j] - given[j] * cycle
      if (deficit > bestDeficit) {
        best = j
        bestDeficit = deficit
      }
    }
    given[best]++
    prefix[p + 1] = prefix[p] + (best >= first && best < end ? 1 : 0)
  }
  const perCycle = prefix[cycle]
  const owns = (index: number) => {
    const p = index % cycle
    return prefix[p + 1] > prefix[p]
  }
  return {
    owns,
    count: (n) => Math.floor(n / cycle) * perCycle + prefix[n % cycle],
    next(from) {
      let index = Math.max(0, from)
      while (!owns(index)) index++
      return index
    },
  }
}
