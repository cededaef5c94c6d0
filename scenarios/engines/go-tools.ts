// The external tools this project builds from their Go modules, pinned, into the tools cache
// (<cache>/<name>/<version>/<binary>...). One descriptor a tool; one build routine for all of them.
//   toxiproxy  network-level chaos between the proxy and the mocks (chaos runs)
//   actionlint lints ci/workflows (a test)
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { goInstall, log, probe, requireGo, ToolBuildError, toolsCacheDir, withLock } from './tools-cache.ts'

export interface GoTool {
  name: string
  version: string
  /** `go install` targets without the version, and the binary each one yields (GOBIN/<last path part>). */
  packages: { path: string; binary: string }[]
  ldflags?: string
  /** The first line a binary prints when asked its version, for the pinned version. */
  versionProbe: (binary: string) => { args: string[]; expect: string }
}

export const TOXIPROXY: GoTool = {
  name: 'toxiproxy',
  version: 'v2.12.0',
  packages: [
    { path: 'github.com/Shopify/toxiproxy/v2/cmd/server', binary: 'toxiproxy-server' },
    { path: 'github.com/Shopify/toxiproxy/v2/cmd/cli', binary: 'toxiproxy-cli' },
  ],
  ldflags: '-s -w -X github.com/Shopify/toxiproxy/v2.Version=2.12.0',
  versionProbe: (binary) =>
    binary === 'toxiproxy-server'
      ? { args: ['-version'], expect: 'toxiproxy-server version 2.12.0' }
      : { args: ['--version'], expect: 'toxiproxy-cli version 2.12.0' },
}

export const ACTIONLINT: GoTool = {
  name: 'actionlint',
  version: 'v1.7.12',
  packages: [{ path: 'github.com/rhysd/actionlint/cmd/actionlint', binary: 'actionlint' }],
  ldflags: '-s -w -X github.com/rhysd/actionlint.version=1.7.12',
  versionProbe: () => ({ args: ['-version'], expect: '1.7.12' }),
}

export const GO_TOOLS: readonly GoTool[] = [TOXIPROXY, ACTIONLINT]

export function goToolDir(tool: GoTool, cacheDir = toolsCacheDir()): string {
  return join(cacheDir, tool.name, tool.version)
}

function binariesIn(tool: GoTool, dir: string): Record<string, string> {
  return Object.fromEntries(tool.packages.map((p) => [p.binary, join(dir, p.binary)]))
}

function verify(tool: GoTool, bins: Record<string, string>): boolean {
  return tool.packages.every(({ binary }) => {
    const path = bins[binary] as string
    if (!existsSync(path)) return false
    const { args, expect } = tool.versionProbe(binary)
    return probe(path, args)?.split('\n')[0]?.trim() === expect
  })
}

/** The pinned tool's binaries (by binary name) if built and answering with the right version, else null. */
export function goToolPath(tool: GoTool, cacheDir = toolsCacheDir()): Record<string, string> | null {
  const bins = binariesIn(tool, goToolDir(tool, cacheDir))
  return verify(tool, bins) ? bins : null
}

/** The pinned tool's binaries, built first when absent (needs Go); concurrent builds wait on a lock. */
export async function ensureGoTool(
  tool: GoTool,
  cacheDir = toolsCacheDir(),
): Promise<Record<string, string>> {
  const ready = goToolPath(tool, cacheDir)
  if (ready) return ready
  log(`${tool.name} ${tool.version} not in ${goToolDir(tool, cacheDir)}; building it (${requireGo()})`)
  const root = join(cacheDir, tool.name)
  return withLock(join(root, '.lock'), async () => {
    const built = goToolPath(tool, cacheDir) // another process may have built it while we waited
    if (built) return built
    mkdirSync(root, { recursive: true })
    const tmp = mkdtempSync(join(root, `.build-${tool.version}-`))
    try {
      const started = Date.now()
      await goInstall({
        packages: tool.packages.map((p) => `${p.path}@${tool.version}`),
        gobin: tmp,
        ldflags: tool.ldflags,
      })
      for (const p of tool.packages) {
        const out = p.path.split('/').at(-1) as string
        if (out !== p.binary) renameSync(join(tmp, out), join(tmp, p.binary))
      }
      if (!verify(tool, binariesIn(tool, tmp)))
        throw new ToolBuildError(`the ${tool.name} built in ${tmp} does not report ${tool.version}`)
      const dir = goToolDir(tool, cacheDir)
      chmodSync(tmp, 0o755)
      rmSync(dir, { recursive: true, force: true })
      renameSync(tmp, dir)
      log(`built ${tool.name} ${tool.version} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    const result = goToolPath(tool, cacheDir)
    if (!result)
      throw new ToolBuildError(`${tool.name} is missing from ${goToolDir(tool, cacheDir)} after the build`)
    return result
  })
}
