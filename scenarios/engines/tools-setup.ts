// The Go-built tools step of `npm run setup`: `--check` prints the names of the tools not yet built
// (nothing when all are there); without it, builds each missing one.
import { ensureGoTool, GO_TOOLS, goToolPath } from './go-tools.ts'
import { failCli } from './tools-cache.ts'

const missing = GO_TOOLS.filter((tool) => goToolPath(tool) === null)
if (process.argv.includes('--check')) {
  if (missing.length > 0) process.stdout.write(`${missing.map((t) => `${t.name} ${t.version}`).join(', ')}\n`)
} else {
  try {
    for (const tool of missing) await ensureGoTool(tool)
  } catch (err) {
    failCli(err)
  }
}
