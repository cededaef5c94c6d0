// `npm run toxiproxy:build`: builds toxiproxy (network-level chaos) from its Go module, pinned, into
// the tools cache and prints the two paths (server first), one a line; progress goes to stderr.

import { readCommandLine } from '../run/command-line.ts'
import { ensureGoTool, goToolPath, TOXIPROXY } from './go-tools.ts'
import { failCli, toolsCacheDir } from './tools-cache.ts'

export interface ToxiproxyBinaries {
  server: string
  cli: string
}

const pick = (bins: Record<string, string>): ToxiproxyBinaries => ({
  server: bins['toxiproxy-server'] as string,
  cli: bins['toxiproxy-cli'] as string,
})

/** The pinned toxiproxy binaries if they are built and answer with the right version, else null. */
export function toxiproxyPath(cacheDir = toolsCacheDir()): ToxiproxyBinaries | null {
  const bins = goToolPath(TOXIPROXY, cacheDir)
  return bins ? pick(bins) : null
}

/** Returns the pinned toxiproxy binaries, building them first when absent (needs Go). */
export async function ensureToxiproxy(cacheDir = toolsCacheDir()): Promise<ToxiproxyBinaries> {
  return pick(await ensureGoTool(TOXIPROXY, cacheDir))
}

if (import.meta.main) {
  readCommandLine({
    usage: 'npm run toxiproxy:build',
    about:
      'Builds toxiproxy (network-level chaos) from its Go module, pinned, into the tools cache (needs Go),\n' +
      'and prints the paths of its server and its CLI, one a line.',
    flags: {},
  })
  try {
    const bins = await ensureToxiproxy()
    process.stdout.write(`${bins.server}\n${bins.cli}\n`)
  } catch (err) {
    failCli(err)
  }
}
