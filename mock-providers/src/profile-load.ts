import { readFileSync } from 'node:fs'
import { basename, extname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { ProfileError, parseProfile } from './profile.ts'
import type { Profile } from './profile-schema.ts'

/** mock-providers/profiles, next to src/. */
export const PROFILES_DIR = fileURLToPath(new URL('../profiles/', import.meta.url))

const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]*$/i

export function isProfileName(value: string): boolean {
  return PROFILE_NAME.test(value)
}

/** A path when it looks like one (has a slash or a .yaml/.yml/.json extension), else a name in profiles/. */
export function resolveProfilePath(nameOrPath: string): string {
  if (isProfileName(nameOrPath)) return resolve(PROFILES_DIR, `${nameOrPath}.yaml`)
  return resolve(nameOrPath)
}

/** Reads and validates a profile by name (profiles/<name>.yaml) or path (YAML or JSON). */
export function loadProfile(nameOrPath: string): Profile {
  const path = resolveProfilePath(nameOrPath)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ProfileError([`cannot read ${path}: ${(error as Error).message}`], nameOrPath)
  }
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (error) {
    throw new ProfileError([`not valid YAML: ${(error as Error).message}`], path)
  }
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !('name' in raw)) {
    raw = { name: basename(path, extname(path)), ...raw }
  }
  return parseProfile(raw, path)
}
