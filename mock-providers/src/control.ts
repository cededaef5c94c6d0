import { parseJson } from './json-body.ts'
import { ProfileError, parseProfile } from './profile.ts'
import type { Profile } from './profile-schema.ts'
import type { StatsSnapshot } from './stats.ts'
import { parseTimeline, type TimelineEntry } from './timeline.ts'

export const CONTROL_PREFIX = '/__mock/'

export interface ControlResponse {
  status: number
  body: string
}

/** What the control API drives: a mock's runtime. */
export interface Controllable {
  stats(): StatsSnapshot
  profile(): Profile
  setProfile(profile: Profile): void
  reset(): void
  schedule(entries: readonly TimelineEntry[]): void
  resolveProfile(name: string): Profile
}

function json(status: number, value: unknown): ControlResponse {
  return { status, body: JSON.stringify(value) }
}

function failure(status: number, message: string, issues?: readonly string[]): ControlResponse {
  return json(status, { error: { message, ...(issues ? { issues } : {}) } })
}

function withBody(body: string, use: (value: unknown) => ControlResponse): ControlResponse {
  const parsed = parseJson(body)
  if (!parsed.ok) return failure(400, 'request body is not valid JSON')
  try {
    return use(parsed.value)
  } catch (error) {
    if (error instanceof ProfileError) return failure(400, error.message, error.issues)
    throw error
  }
}

/**
 * The control API, the same on both wires and both adapters:
 * GET stats, GET/PUT profile (a profile object, or a profile name as a JSON string),
 * POST timeline ([{at, profile}], scheduled from now), POST reset.
 */
export function handleControl(
  target: Controllable,
  method: string,
  path: string,
  body: string,
): ControlResponse {
  const name = path.slice(CONTROL_PREFIX.length)
  const key = `${method} ${name}`
  switch (key) {
    case 'GET stats':
      return json(200, target.stats())
    case 'GET profile':
      return json(200, target.profile())
    case 'PUT profile':
      return withBody(body, (value) => {
        const profile = typeof value === 'string' ? target.resolveProfile(value) : parseProfile(value)
        target.setProfile(profile)
        return json(200, profile)
      })
    case 'POST timeline':
      return withBody(body, (value) => {
        const entries = parseTimeline(value, (n) => target.resolveProfile(n))
        target.schedule(entries)
        return json(200, { scheduled: entries.map((e) => ({ at_ms: e.atMs, profile: e.profile.name })) })
      })
    case 'POST reset':
      target.reset()
      return json(200, { reset: true })
  }
  if (['stats', 'profile', 'timeline', 'reset'].includes(name))
    return failure(405, `method ${method} not allowed on ${path}`)
  return failure(404, `no control route ${path}`)
}
