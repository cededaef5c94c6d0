import type { core } from 'zod'
import { type Profile, profileSchema } from './profile-schema.ts'

/** Every violation of a profile, one line each, as `path: problem`. */
export class ProfileError extends Error {
  readonly issues: readonly string[]

  constructor(issues: readonly string[], source?: string) {
    super(`invalid profile${source ? ` ${source}` : ''}:\n  ${issues.join('\n  ')}`)
    this.name = 'ProfileError'
    this.issues = issues
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out === '' ? '(root)' : out
}

function describe(issue: core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map(String).join('|')}`
  if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray(issue.options)) {
    return `expected one of ${issue.options.map(String).join('|')}`
  }
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? 'required' : `expected ${issue.expected}, got ${typeof issue.input}`
  }
  return issue.message.replace(/^Invalid input: /, '')
}

/** Flattens zod issues into `path: problem` lines; unknown keys are reported at their own path. */
export function formatIssues(
  issues: readonly core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): string[] {
  const lines: string[] = []
  for (const issue of issues) {
    const path = [...prefix, ...issue.path]
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...path, key])}: unknown field`)
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0 && !('options' in issue)) {
      lines.push(...formatIssues(issue.errors.flat(), path))
    } else {
      lines.push(`${formatPath(path)}: ${describe(issue)}`)
    }
  }
  return lines
}

/** Validates a profile object (as read from YAML or JSON); throws a ProfileError listing every violation. */
export function parseProfile(input: unknown, source?: string): Profile {
  const result = profileSchema.safeParse(input)
  if (!result.success) throw new ProfileError(formatIssues(result.error.issues), source)
  return result.data
}
