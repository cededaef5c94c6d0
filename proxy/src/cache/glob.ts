/**
 * A shell-style glob as an anchored RegExp: `*` any run of characters, `?` one character,
 * everything else literal (so `gpt-4o*` matches gpt-4o and gpt-4o-mini, `claude-?-*` what it says).
 */
export function globToRegExp(glob: string): RegExp {
  let source = ''
  for (const ch of glob) {
    if (ch === '*') source += '.*'
    else if (ch === '?') source += '.'
    else source += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}
