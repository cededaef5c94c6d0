// `npm run load -- <tier> --shards N`: a split run on this machine, as a scheduler would run it on N
// machines. Unless --target, it boots the mocks and the proxy once; then starts N shard processes
// (`node scenarios/cli.ts <tier> --segment i/N --start-at T --target <proxy>`), each with its own
// engine, all starting their schedules at the same instant T, and waits for them. The caller merges
// their runs (merge-run.ts) into the run directory's summary.
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type MockLatency, mockLatencyOf } from './mock-latency.ts'
import { waitForHealth } from './probe.ts'
import { ProcessGroup } from './processes.ts'
import { REPORTS_OUT, stamp } from './runner.ts'
import { bootStack, REPO_ROOT, type Stack } from './stack.ts'

const CLI = join(REPO_ROOT, 'scenarios/cli.ts')

export type ShardsOptions = {
  readonly tier: string
  readonly shards: number
  /** The tier's flags every shard takes as they are (--duration-scale, --model, --seed, --tiers, ...). */
  readonly shardArgs: readonly string[]
  /** Load running proxies instead of booting mocks and a proxy. */
  readonly targets: readonly string[]
  readonly apiKey: string | null
  readonly mockProfile?: string
  readonly seed: number
  readonly out?: string
  /** When every shard starts its schedule (default: a few seconds after they are started). */
  readonly startAt?: Date
  readonly signal?: AbortSignal
  /** Where one line per shard goes when it ends (default: nowhere). */
  readonly log?: (line: string) => void
}

export type ShardsOutcome = {
  readonly dir: string
  readonly shardDirs: readonly string[]
  /** The mocks the run booted, for the merged summary (null with --target). */
  readonly mockProfile: string | null
  readonly mockLatency: MockLatency | null
  /** Why the split run broke (the proxy died, a shard could not start), or null. */
  readonly broken: string | null
  readonly processes: readonly { name: string; pid: number }[]
}

/** Time for N shard processes to start Node, read the tiers and probe the target, on a busy machine. */
export function defaultStartAt(shards: number, now = Date.now()): Date {
  return new Date(now + 3000 + 500 * shards)
}

export async function runShards(options: ShardsOptions): Promise<ShardsOutcome> {
  const started = new Date()
  const dir =
    options.out ??
    join(
      REPORTS_OUT,
      `${stamp(started)}-${options.tier}-native-x${options.shards}-${randomBytes(2).toString('hex')}`,
    )
  mkdirSync(dir, { recursive: true })
  const group = new ProcessGroup()
  const shardDirs = Array.from({ length: options.shards }, (_, i) => join(dir, `shard-${i}`))
  let stack: Stack | null = null
  let broken: string | null = null
  const mockProfile = options.targets.length > 0 ? null : (options.mockProfile ?? 'baseline')
  try {
    let targets = options.targets
    let apiKey = options.apiKey
    if (targets.length === 0) {
      stack = await bootStack({ group, runDir: dir, mockProfile: mockProfile!, seed: options.seed })
      targets = [stack.targetUrl]
      apiKey = stack.apiKey
    }
    for (const target of targets) await waitForHealth(target, 20_000, options.signal)
    const startAt = options.startAt ?? defaultStartAt(options.shards)
    const children = shardDirs.map((out, i) =>
      group.start(
        `shard ${i}/${options.shards}`,
        process.execPath,
        [
          CLI,
          options.tier,
          ...['--segment', `${i}/${options.shards}`, '--start-at', startAt.toISOString()],
          ...['--target', targets.join(','), '--out', out, '--quiet', ...options.shardArgs],
        ],
        {
          logFile: join(dir, `shard-${i}.log`),
          cwd: REPO_ROOT,
          // The key goes by the environment: a command line is visible to every user of the machine.
          env: { ...process.env, LOAD_API_KEY: apiKey ?? '' },
        },
      ),
    )
    const stop = () => {
      for (const child of children) child.child.kill('SIGINT')
    }
    options.signal?.addEventListener('abort', stop, { once: true })
    let died: string | null = null
    for (const p of stack?.processes ?? [])
      void p.exited.then((exit) => {
        if (!p.stopping && died === null) {
          died = `${p.name} (pid ${p.pid}) exited during the run (${exit.signal ?? `code ${exit.code}`}); see its log`
          stop()
        }
      })
    const exits = await Promise.all(children.map((c) => c.exited))
    options.signal?.removeEventListener('abort', stop)
    for (const [i, exit] of exits.entries())
      options.log?.(
        `  shard ${i}/${options.shards}: exit ${exit.code ?? exit.signal} (${join(dir, `shard-${i}.log`)})`,
      )
    broken = died ?? (options.signal?.aborted ? 'interrupted (SIGINT)' : null)
  } catch (error) {
    broken = options.signal?.aborted ? 'interrupted (SIGINT)' : `run broken: ${(error as Error).message}`
  } finally {
    await group.stopAll()
    stack?.cleanup()
  }
  return {
    dir,
    shardDirs,
    mockProfile,
    mockLatency: mockProfile ? mockLatencyOf(mockProfile) : null,
    broken,
    processes: group.started,
  }
}
