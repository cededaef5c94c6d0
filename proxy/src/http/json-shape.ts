// The shape of a JSON body (how deep, how many arrays and objects) and its bounds: a body built to
// cost the parser the most is refused before it is parsed.

/**
 * Deeper JSON is refused: no client request needs it, and code that recurses over a request (a
 * serializer, a cache key) could exhaust the stack on it. V8's JSON.parse does not recurse, but a
 * body at the size limit nested millions deep takes it a second (0.2 us a level), on the thread that
 * serves everyone. A small body's depth is read from the parsed value, whose containers are few
 * (16 KB nests at most 8,192 deep: under 2 ms to parse); a larger one's from its bytes before it is
 * parsed (shapeProblem), which costs a quarter of the parse on a 32 KB conversation and an eighth on
 * 300 KB (a chat request of those sizes, median of three timings).
 */
export const MAX_DEPTH = 128
/**
 * More arrays and objects than this in one body are refused: a chat request holds a few per
 * message, tool or content part, and 10 MB of `{},` is 3.3 million of them, 0.45 s to parse.
 */
export const MAX_CONTAINERS = 100_000
/** Bodies longer than this have their shape read before they are parsed (only clients with a key get that far). */
export const SCAN_ABOVE = 16 * 1024

const QUOTE = 0x22
const BACKSLASH = 0x5c
/** Strings shorter than this (keys, roles) are stepped over byte by byte; longer ones found natively. */
const SHORT_STRING = 32

/**
 * Why a JSON body's shape is refused (nested more than `maxDepth` deep, or more than
 * `maxContainers` arrays and objects), read from its bytes without parsing them; undefined when
 * it is not. It stops at the first level or container too many, so a hostile body costs a few
 * hundred bytes' reading. Only brackets outside strings count: a string is stepped over to its
 * closing quote, one preceded by an even number of backslashes. Bytes that are not JSON are left
 * to the parser (it stops at the first error), and valid JSON is read exactly.
 */
export function shapeProblem(buf: Buffer, maxDepth: number, maxContainers: number): string | undefined {
  const n = buf.length
  let depth = 0
  let containers = 0
  for (let i = 0; i < n; i++) {
    const c = buf[i] as number
    if (c === QUOTE) {
      i = stringEnd(buf, i + 1)
      if (i === -1) return undefined
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return `is nested more than ${maxDepth} levels deep`
      if (++containers > maxContainers) return `holds more than ${maxContainers} arrays and objects`
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return undefined
}

/** The index of the quote closing the string whose body starts at `from`, or -1. */
function stringEnd(buf: Buffer, from: number): number {
  const n = buf.length
  const stop = Math.min(from + SHORT_STRING, n)
  let j = from
  for (; j < stop; j++) {
    const d = buf[j]
    if (d === QUOTE) return j
    if (d === BACKSLASH) j++
  }
  for (j = buf.indexOf(QUOTE, j); j !== -1; j = buf.indexOf(QUOTE, j + 1)) {
    let k = j - 1
    while (buf[k] === BACKSLASH) k--
    if ((j - 1 - k) % 2 === 0) return j
  }
  return -1
}

/**
 * Whether arrays and objects nest more than `max` levels deep in a parsed JSON value (a scalar is
 * level 0). Without recursion: the containers still to visit wait on a list, with their levels.
 */
export function deeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false
  const pending: object[] = [value]
  const levels: number[] = [1]
  while (pending.length > 0) {
    const node = pending.pop() as Record<string, unknown>
    const level = levels.pop() as number
    if (level > max) return true
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child = node[i]
        if (child !== null && typeof child === 'object') {
          pending.push(child)
          levels.push(level + 1)
        }
      }
    } else {
      for (const key in node) {
        const child = node[key]
        if (child !== null && typeof child === 'object') {
          pending.push(child)
          levels.push(level + 1)
        }
      }
    }
  }
  return false
}
