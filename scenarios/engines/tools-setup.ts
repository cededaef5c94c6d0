// The tools step of `npm run setup`: `--check` prints the tools not yet built or installed
// (nothing when all are there); without it, builds (Go) or installs (Python) each missing one.
import { ensureGoTool, GO_TOOLS, goToolPath } from './go-tools.ts'
import { ensureKubernetesValidate, KUBERNETES_VALIDATE, kubernetesValidatePath } from './py-tools.ts'
import { failCli } from './tools-cache.ts'

const missingGo = GO_TOOLS.filter((tool) => goToolPath(tool) === null)
const missingPy = kubernetesValidatePath() === null ? [KUBERNETES_VALIDATE] : []
if (process.argv.includes('--check')) {
  const missing = [...missingGo, ...missingPy]
  if (missing.length > 0) process.stdout.write(`${missing.map((t) => `${t.name} ${t.version}`).join(', ')}\n`)
} else {
  try {
    for (const tool of missingGo) await ensureGoTool(tool)
    if (missingPy.length > 0) await ensureKubernetesValidate()
  } catch (err) {
    failCli(err)
  }
}
