// The shape of a JSON body (how deep, how many arrays and objects, whether an object names a key
// twice) and its bounds: a body built to cost the parser the most is refused before it is parsed,
// and one the proxy and a provider could read differently is refused after.

/**
 * Deeper JSON is refused: no client request needs it, and code that recurses over a request (a
 * serializer, a cache key) could exhaust the stack on it. V8's JSON.parse does not recurse, but a
 * body at the size limit nested millions deep takes it a second (0.2 us a level), on the thread that
 * serves everyone. The depth is read from the bytes before they are parsed (scanJson), which costs
 * 0.3 us on a 200-byte request and 40 % of the parse on conversations of 1 to 60 KB (median of
 * three timings).
 */
export const MAX_DEPTH = 128
/**
 * More arrays and objects than this in one body are refused: a chat request holds a few per
 * message, tool or content part, and 10 MB of `{},` is 3.3 million of them, 0.45 s to parse.
 */
export const MAX_CONTAINERS = 100_000

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
/** Strings shorter than this (keys, roles) are stepped over byte by byte; longer ones found natively. */
const SHORT_STRING = 32

/**
 * A JSON body read from its bytes without parsing them: why its shape is refused (nested more than
 * `maxDepth` deep, or more than `maxContainers` arrays and objects), or else how many members its
 * objects name (the colons outside strings), which `membersOf` the parsed value compares to find a
 * repeated key. It stops at the first level or container too many, so a hostile body costs a few
 * hundred bytes' reading. Only brackets and colons outside strings count: a string is stepped over
 * to its closing quote, one preceded by an even number of backslashes. Bytes that are not JSON are
 * left to the parser (it stops at the first error), and valid JSON is read exactly.
 */
export function scanJson(buf: Buffer, maxDepth: number, maxContainers: number): string | number {
  const n = buf.length
  let depth = 0
  let containers = 0
  let members = 0
  for (let i = 0; i < n; i++) {
    const c = buf[i] as number
    if (c === QUOTE) {
      i = stringEnd(buf, i + 1)
      if (i === -1) return members
    } else if (c === COLON) members++
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return `is nested more than ${maxDepth} levels deep`
      if (++containers > maxContainers) return `holds more than ${maxContainers} arrays and objects`
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return members
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
 * How many members the objects of a parsed JSON value hold, all levels counted. Fewer than its
 * bytes name (`scanJson`) means a key repeated within an object, of which JSON.parse kept the last.
 * Without recursion: the containers still to visit wait on a list.
 */
export function membersOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0
  const pending: object[] = [value]
  let members = 0
  while (pending.length > 0) {
    const node = pending.pop() as Record<string, unknown>
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child = node[i]
        if (child !== null && typeof child === 'object') pending.push(child)
      }
    } else {
      for (const key in node) {
        members++
        const child = node[key]
        if (child !== null && typeof child === 'object') pending.push(child)
      }
    }
  }
  return members
}

/**
 * The first key named twice within one object of a valid JSON body, or undefined; keys are
 * compared as JSON.parse reads them (`"a"` and `"\u0061"` are one key). Only called once the counts
 * have found one, to name it.
 */
export function repeatedKey(buf: Buffer): string | undefined {
  // The keys of each open object, innermost last; null for an array.
  const open: (Set<string> | null)[] = []
  const n = buf.length
  for (let i = 0; i < n; i++) {
    const c = buf[i] as number
    if (c === 0x7b) open.push(new Set())
    else if (c === 0x5b) open.push(null)
    else if (c === 0x5d || c === 0x7d) open.pop()
    else if (c === QUOTE) {
      const end = stringEnd(buf, i + 1)
      if (end === -1) return undefined
      let next = end + 1
      while (next < n && isSpace(buf[next] as number)) next++
      const keys = open.at(-1)
      if (buf[next] === COLON && keys) {
        const key = JSON.parse(buf.toString('utf8', i, end + 1)) as string
        if (keys.has(key)) return key
        keys.add(key)
      }
      i = end
    }
  }
  return undefined
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}
