// Builds toxiproxy (network-level chaos) from its Go module, pinned, into the tools cache:
//   <cache>/toxiproxy/<version>/toxiproxy-server and toxiproxy-cli
// `npm run toxiproxy:build` prints the two paths (server first), one a line; progress goes to stderr.
// The harness imports toxiproxyPath() (no build) or ensureToxiproxy() (builds when absent).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  failCli,
  goInstall,
  log,
  probe,
  requireGo,
  ToolBuildError,
  toolsCacheDir,
  withLock,
} from './tools-cache.ts'

export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2'
export const TOXIPROXY_VERSION = 'v2.12.0'

export interface ToxiproxyBinaries {
  server: string
  cli: string
}

const BARE_VERSION = TOXIPROXY_VERSION.replace(/^v/, '')

export function toxiproxyDir(cacheDir = toolsCacheDir()): string {
  return join(cacheDir, 'toxiproxy', TOXIPROXY_VERSION)
}

function binariesIn(dir: string): ToxiproxyBinaries {
  return { server: join(dir, 'toxiproxy-server'), cli: join(dir, 'toxiproxy-cli') }
}

/** Both binaries exist and report the pinned version ("toxiproxy-server version 2.12.0"). */
function verify(bins: ToxiproxyBinaries): boolean {
  if (!existsSync(bins.server) || !existsSync(bins.cli)) return false
  return (
    probe(bins.server, ['-version']) === `toxiproxy-server version ${BARE_VERSION}` &&
    probe(bins.cli, ['--version']) === `toxiproxy-cli version ${BARE_VERSION}`
  )
}

/** The pinned toxiproxy binaries if they are built and answer with the right version, else null. */
export function toxiproxyPath(cacheDir = toolsCacheDir()): ToxiproxyBinaries | null {
  const bins = binariesIn(toxiproxyDir(cacheDir))
  return verify(bins) ? bins : null
}

/** Returns the pinned toxiproxy binaries, building them first when absent (needs Go). */
export async function ensureToxiproxy(cacheDir = toolsCacheDir()): Promise<ToxiproxyBinaries> {
  const ready = toxiproxyPath(cacheDir)
  if (ready) return ready
  log(`toxiproxy ${TOXIPROXY_VERSION} not in ${toxiproxyDir(cacheDir)}; building it (${requireGo()})`)
  const root = join(cacheDir, 'toxiproxy')
  return withLock(join(root, '.lock'), async () => {
    const built = toxiproxyPath(cacheDir) // another process may have built it while we waited
    if (built) return built
    mkdirSync(root, { recursive: true })
    const tmp = mkdtempSync(join(root, `.build-${TOXIPROXY_VERSION}-`))
    try {
      const started = Date.now()
      await goInstall({
        packages: [
          `${TOXIPROXY_MODULE}/cmd/server@${TOXIPROXY_VERSION}`,
          `${TOXIPROXY_MODULE}/cmd/cli@${TOXIPROXY_VERSION}`,
        ],
        gobin: tmp,
        ldflags: `-s -w -X ${TOXIPROXY_MODULE}.Version=${BARE_VERSION}`,
      })
      const bins = binariesIn(tmp)
      renameSync(join(tmp, 'server'), bins.server)
      renameSync(join(tmp, 'cli'), bins.cli)
      if (!verify(bins)) throw new ToolBuildError(`built toxiproxy in ${tmp} does not report ${BARE_VERSION}`)
      const dir = toxiproxyDir(cacheDir)
      chmodSync(tmp, 0o755)
      rmSync(dir, { recursive: true, force: true })
      renameSync(tmp, dir)
      log(`built toxiproxy ${TOXIPROXY_VERSION} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    const result = toxiproxyPath(cacheDir)
    if (!result)
      throw new ToolBuildError(`toxiproxy is missing from ${toxiproxyDir(cacheDir)} after the build`)
    return result
  })
}

if (import.meta.main) {
  try {
    const bins = await ensureToxiproxy()
    process.stdout.write(`${bins.server}\n${bins.cli}\n`)
  } catch (err) {
    failCli(err)
  }
}
