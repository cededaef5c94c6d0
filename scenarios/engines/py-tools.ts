// The Python tool this project uses, pinned, in a virtual environment of its own in the tools
// cache (<cache>/kubernetes-validate/<version>/), built from PyPI by `npm run setup`:
//   kubernetes-validate  checks deploy/k8s against the Kubernetes schemas it ships (no cluster needed)
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { log, probe, run, ToolBuildError, toolsCacheDir, withLock } from './tools-cache.ts'

export const KUBERNETES_VALIDATE = { name: 'kubernetes-validate', version: '1.37.0' }

export function kubernetesValidateDir(cacheDir = toolsCacheDir()): string {
  return join(cacheDir, KUBERNETES_VALIDATE.name, KUBERNETES_VALIDATE.version)
}

/** The pinned kubernetes-validate if installed and answering with its version, else null. */
export function kubernetesValidatePath(cacheDir = toolsCacheDir()): string | null {
  const bin = join(kubernetesValidateDir(cacheDir), 'bin', 'kubernetes-validate')
  if (!existsSync(bin)) return null
  return probe(bin, ['--version'])?.includes(KUBERNETES_VALIDATE.version) ? bin : null
}

/** Installs it when absent (needs python3 with venv, and PyPI). */
export async function ensureKubernetesValidate(cacheDir = toolsCacheDir()): Promise<string> {
  const ready = kubernetesValidatePath(cacheDir)
  if (ready) return ready
  const dir = kubernetesValidateDir(cacheDir)
  return withLock(join(cacheDir, KUBERNETES_VALIDATE.name, '.lock'), async () => {
    const done = kubernetesValidatePath(cacheDir)
    if (done) return done
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    log(`$ python3 -m venv ${dir} && pip install ${KUBERNETES_VALIDATE.name}==${KUBERNETES_VALIDATE.version}`)
    if ((await run('python3', ['-m', 'venv', dir], process.env)) !== 0)
      throw new ToolBuildError('python3 -m venv failed (Debian: apt-get install python3-venv)')
    const pip = join(dir, 'bin', 'pip')
    const spec = `${KUBERNETES_VALIDATE.name}==${KUBERNETES_VALIDATE.version}`
    if ((await run(pip, ['install', '--quiet', '--disable-pip-version-check', spec], process.env)) !== 0)
      throw new ToolBuildError(`pip install ${spec} failed`)
    const bin = kubernetesValidatePath(cacheDir)
    if (!bin) throw new ToolBuildError(`${KUBERNETES_VALIDATE.name} is missing from ${dir} after the install`)
    return bin
  })
}
