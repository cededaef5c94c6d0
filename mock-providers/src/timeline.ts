import { toMilliseconds } from './duration.ts'
import { isObject } from './json-body.ts'
import { ProfileError, parseProfile } from './profile.ts'
import type { Profile } from './profile-schema.ts'

/** One scheduled profile change, `atMs` after the timeline was posted. */
export interface TimelineEntry {
  atMs: number
  profile: Profile
}

/**
 * Validates `[{"at": "30s", "profile": {...} | "name"}, ...]`. Names are resolved with `resolve`
 * (profiles/<name>.yaml). Throws a ProfileError listing every bad entry, paths like `[1].profile.latency`.
 */
export function parseTimeline(input: unknown, resolve: (name: string) => Profile): TimelineEntry[] {
  if (!Array.isArray(input))
    throw new ProfileError(['(root): expected an array of {at, profile}'], 'timeline')
  const issues: string[] = []
  const entries: TimelineEntry[] = []
  input.forEach((item, i) => {
    if (!isObject(item)) {
      issues.push(`[${i}]: expected an object {at, profile}`)
      return
    }
    for (const key of Object.keys(item))
      if (key !== 'at' && key !== 'profile') issues.push(`[${i}].${key}: unknown field`)
    const atMs = toMilliseconds(item.at)
    if (atMs === undefined)
      issues.push(`[${i}].at: expected a duration such as '30s' or a number of milliseconds`)
    let profile: Profile | undefined
    try {
      if (typeof item.profile === 'string') profile = resolve(item.profile)
      else if (isObject(item.profile)) profile = parseProfile(item.profile)
      else issues.push(`[${i}].profile: expected a profile object or a profile name`)
    } catch (error) {
      if (!(error instanceof ProfileError)) throw error
      for (const line of error.issues)
        issues.push(`[${i}].profile${line.startsWith('cannot') ? ': ' : '.'}${line}`)
    }
    if (atMs !== undefined && profile !== undefined) entries.push({ atMs, profile })
  })
  if (issues.length > 0) throw new ProfileError(issues, 'timeline')
  return entries
}
