// The Kubernetes manifests users apply (deploy/k8s) checked against the Kubernetes schemas by a
// real validator (kubernetes-validate, strict: unknown fields are errors), installed by
// `npm run setup`; and the check itself shown to fail on a broken manifest.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { KUBERNETES_VALIDATE, kubernetesValidatePath } from '../../scenarios/engines/py-tools.ts'
import { missingTool } from '../setup-hint.ts'

const dir = join(import.meta.dirname, '..', '..', 'deploy', 'k8s')
const manifests = readdirSync(dir).filter((f) => f.endsWith('.yaml'))

function validate(files: string[]) {
  const bin = kubernetesValidatePath()
  if (!bin) throw new Error(missingTool(`kubernetes-validate ${KUBERNETES_VALIDATE.version}`, 'it from PyPI'))
  return spawnSync(bin, ['--strict', '--no-warn', ...files], { encoding: 'utf8' })
}

describe('deploy/k8s', () => {
  it('has the proxy fleet and the sharded load run', () => {
    expect(manifests.sort()).toEqual(
      [
        'load-job.yaml',
        'load-merge.yaml',
        'load-results.yaml',
        'proxy-config.yaml',
        'proxy.yaml',
        'redis.yaml',
      ].sort(),
    )
  })

  it('validates against the Kubernetes schemas, strictly', () => {
    const res = validate(manifests.map((f) => join(dir, f)))
    expect(res.stderr + res.stdout).not.toMatch(/ERROR|did not validate/)
    expect(res.status).toBe(0)
    // Every resource was checked, not skipped.
    for (const kind of [
      'deployment/llm-proxy',
      'service/llm-proxy',
      'horizontalpodautoscaler/llm-proxy',
      'job/llm-load',
      'job/llm-load-merge',
    ])
      expect(res.stdout).toContain(`passed for resource ${kind}`)
  })

  it('fails a manifest with a wrong type or an unknown field', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'k8s-')), 'bad.yaml')
    writeFileSync(
      file,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: bad }',
        'spec:',
        '  replicas: two',
        '  selector: { matchLabels: { a: b } }',
        '  template:',
        '    metadata: { labels: { a: b } }',
        '    spec: { containers: [{ name: c, image: i, readinessProbe: { httpGet: { path: /health } } }] }',
        '',
      ].join('\n'),
    )
    const res = validate([file])
    expect(res.status).not.toBe(0)
    expect(res.stdout + res.stderr).toMatch(/did not validate/)
  })
})
