/** A compiled shell-style glob. */
export interface Glob {
  /** Whether the whole of `text` matches. */
  test(text: string): boolean
}

/**
 * A shell-style glob: `*` any run of characters, `?` one character, everything else literal (so
 * `gpt-4o*` matches gpt-4o and gpt-4o-mini, `claude-?-*` what it says). Matched by the greedy
 * algorithm that returns to the last `*` only (time at most the pattern's length times the text's),
 * not by a RegExp: `.*` repeated backtracks exponentially, and one admin request invalidating
 * `********Z` held the event loop for 76 s over three cached keys.
 */
export function compileGlob(glob: string): Glob {
  const pattern = Array.from(glob)
  return { test: (text) => globMatches(pattern, Array.from(text)) }
}

function globMatches(p: readonly string[], t: readonly string[]): boolean {
  let pi = 0
  let ti = 0
  let star = -1
  let resume = 0
  while (ti < t.length) {
    if (pi < p.length && p[pi] === '*') {
      // Try the star as empty first; on a mismatch later, let it take one character more.
      star = pi++
      resume = ti
    } else if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++
      ti++
    } else if (star !== -1) {
      pi = star + 1
      ti = ++resume
    } else return false
  }
  while (pi < p.length && p[pi] === '*') pi++
  return pi === p.length
}
