// What a test says when something `npm run setup` installs is missing: the command first, then the
// package, so a newcomer runs one thing instead of hunting for packages.
export const SETUP_COMMAND = 'npm run setup'

/** "chromium is missing (/usr/bin/chromium): run `npm run setup` (it installs Debian's chromium)". */
export function missingTool(what: string, installs: string, alternative?: string): string {
  const or = alternative ? `, or ${alternative}` : ''
  return `${what} is missing: run \`${SETUP_COMMAND}\` (it installs ${installs})${or}`
}
