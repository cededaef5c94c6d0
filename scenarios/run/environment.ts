// The run environment section: where the numbers were measured.
import { execFileSync } from 'node:child_process'
import { arch, cpus, release, totalmem, type } from 'node:os'
import type { RunSummary } from '../../reports/src/summary.ts'

export function collectEnvironment(cwd: string): Omit<RunSummary['environment'], 'generator_notes'> {
  const cpu = cpus()
  return {
    node_version: process.version,
    os: `${type()} ${release()}`,
    arch: arch(),
    cpu_model: cpu[0]?.model?.trim() || 'unknown',
    cpu_count: Math.max(1, cpu.length),
    total_memory_mb: Math.round(totalmem() / 1024 / 1024),
    git_commit: gitCommit(cwd),
  }
}

/** HEAD's commit, or null outside a git checkout (or without git). */
export function gitCommit(cwd: string): string | null {
  try {
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() || null
    )
  } catch {
    return null
  }
}
