// `npm run load:<tier> -- [flags]`: runs one tier and exits 0 (every baseline held), 99 (one failed),
// 3 (inconclusive: the generator may have been the limit), 1 (the run broke), 2 (bad arguments or
// tiers.yaml), 130 (interrupted). One execution segment of it (`--segment i/N`) exits 0 once it has
// written its results (the merged run is judged) and 1 when it broke; `--shards N` runs N segments as
// processes of this machine, then merges and judges them as one run (merge-cli.ts).
import { join, relative } from 'node:path'
import { ENGINES, type EngineName } from './engines/plan.ts'
import {
  type ExecutionSegment,
  parseExecutionSegment,
  parseSegmentIndex,
  SegmentError,
} from './engines/segment.ts'
import { formatMergeOutcome, mergeAndGate } from './merge-cli.ts'
import { parseArgsOr } from './run/command-line.ts'
import { commandLine, exitWith, interruptSignal } from './run/interrupt.ts'
import { MergeError } from './run/merge.ts'
import { runTier } from './run/runner.ts'
import { runShards, type ShardsOptions } from './run/shards.ts'
import { formatRunTable } from './run/table.ts'

const USAGE = `usage: npm run load:<tier> -- [options]      (or: node scenarios/cli.ts <tier> [options])

  --engine native|autocannon   load generator (default native)
  --model open|closed          open = arrival rate (default from tiers.yaml), closed = users with think time
  --arrival constant|poisson   open-model arrival process (default from tiers.yaml)
  --duration-scale <x>         scale the tier's duration and ramp-up (e.g. 0.1)
  --target <url>[,<url>...]    load running proxies (request k to URL k mod n); starts no mocks and no proxy
  --api-key <key>              client key for --target (default: env LOAD_API_KEY)
  --mock-profile <name>        mock providers' profile (default baseline)
  --seed <n>                   seed of the corpus, mix and arrivals (default 42)
  --out <dir>                  run directory (default reports/out/<run-id>)
  --tiers <file>               tier definitions (default tiers.yaml)
  --quiet                      no progress line

scaling out (native engine; scenarios/README.md, "Scaling out"):
  --segment <i/N>              run execution segment i (0-based) of N equal ones: every Nth arrival, user
                               and request of the schedule; the N segments together run it exactly once
  --execution-segment <a:b>    the same as k6 writes it (1/3:2/3, 0.5:1), with
  --execution-segment-sequence <0,a,...,1>   the cuts every shard shares (default 0,a,b,1)
  --start-at <time>            start the schedule at this ISO time or epoch ms (every shard the same)
  --shards <N>                 run the N segments as processes of this machine, merge them, gate the whole`

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

function number(flag: string, raw: string | undefined, integer = false): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)))
    fail(`--${flag}: '${raw}' is not a${integer ? 'n integer' : ' number'}`)
  return value
}

function oneOf<T extends string>(
  flag: string,
  raw: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined
  if (!allowed.includes(raw as T)) fail(`--${flag}: '${raw}' is not one of ${allowed.join(', ')}`)
  return raw as T
}

function segmentOf(values: {
  segment?: string
  'execution-segment'?: string
  'execution-segment-sequence'?: string
}): ExecutionSegment | undefined {
  if (values.segment !== undefined && values['execution-segment'] !== undefined)
    fail('--segment and --execution-segment say the same thing: give one')
  if (values['execution-segment-sequence'] !== undefined && values['execution-segment'] === undefined)
    fail('--execution-segment-sequence goes with --execution-segment')
  try {
    if (values.segment !== undefined) return parseSegmentIndex(values.segment)
    if (values['execution-segment'] !== undefined)
      return parseExecutionSegment(values['execution-segment'], values['execution-segment-sequence'])
  } catch (error) {
    if (error instanceof SegmentError) fail(`--segment: ${error.message}`)
    throw error
  }
  return undefined
}

/** An ISO 8601 time with its offset, or epoch milliseconds. */
function startTime(raw: string): Date {
  const at = /^\d+$/.test(raw)
    ? new Date(Number(raw))
    : /T.*(Z|[+-]\d\d:?\d\d)$/.test(raw)
      ? new Date(raw)
      : null
  if (!at || Number.isNaN(at.getTime()))
    fail(`--start-at: '${raw}' is neither an ISO time with its offset (2026-12-01T12:00:00Z) nor epoch ms`)
  return at
}

/** --shards: the segments as processes of this machine, then one merged, gated run. */
async function runSplit(
  options: ShardsOptions,
  tiersFile: string | undefined,
  command: string,
): Promise<number> {
  const split = await runShards(options)
  const interrupted = options.signal?.aborted === true
  try {
    const outcome = mergeAndGate(split.shardDirs, {
      out: split.dir,
      tiersFile,
      command,
      ...(split.mockProfile ? { mockProfile: split.mockProfile } : {}),
      ...(split.mockLatency ? { mockLatency: split.mockLatency } : {}),
      ...(split.broken ? { broken: split.broken } : {}),
    })
    process.stdout.write(`${formatMergeOutcome(outcome)}\n`)
    return interrupted ? 130 : outcome.exitCode
  } catch (error) {
    if (!(error instanceof MergeError)) throw error
    process.stderr.write(`${split.broken ? `${split.broken}\n` : ''}cannot merge: ${error.message}\n`)
    return interrupted ? 130 : 1
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgsOr(
    {
      allowPositionals: true,
      options: {
        engine: { type: 'string' },
        model: { type: 'string' },
        arrival: { type: 'string' },
        'duration-scale': { type: 'string' },
        target: { type: 'string' },
        'api-key': { type: 'string' },
        'mock-profile': { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        tiers: { type: 'string' },
        segment: { type: 'string' },
        'execution-segment': { type: 'string' },
        'execution-segment-sequence': { type: 'string' },
        'start-at': { type: 'string' },
        shards: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    fail,
  )
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (positionals.length !== 1) fail('name exactly one tier (light, medium, heavy, extreme, ...)')
  const durationScale = number('duration-scale', values['duration-scale'])
  if (durationScale !== undefined && durationScale <= 0) fail('--duration-scale must be > 0')
  const targets = values.target?.split(',').map((t) => t.trim()) ?? []
  for (const target of targets) if (!URL.canParse(target)) fail(`--target: '${target}' is not a URL`)
  const engine = oneOf<EngineName>('engine', values.engine, ENGINES)
  const segment = segmentOf(values)
  const startAt = values['start-at'] === undefined ? undefined : startTime(values['start-at'])
  const shards = number('shards', values.shards, true)
  if (shards !== undefined && !(shards >= 1 && shards <= 64)) fail('--shards: from 1 to 64')
  if (shards !== undefined && segment) fail('--shards runs every segment itself: give it no --segment')
  if (engine === 'autocannon' && (segment || shards !== undefined || targets.length > 1))
    fail('execution segments, --shards and several targets need the native engine')

  const signal = interruptSignal('stopping the run and everything it started')
  const command = commandLine('node scenarios/cli.ts')
  const apiKey = values['api-key'] ?? process.env.LOAD_API_KEY ?? null
  const seed = number('seed', values.seed, true)
  if (shards !== undefined) {
    const passed = ['duration-scale', 'model', 'arrival', 'seed', 'tiers'] as const
    return runSplit(
      {
        tier: positionals[0],
        shards,
        shardArgs: passed.flatMap((flag) => (values[flag] === undefined ? [] : [`--${flag}`, values[flag]])),
        targets,
        apiKey,
        mockProfile: values['mock-profile'],
        seed: seed ?? 42,
        out: values.out,
        startAt,
        signal,
        log: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
      },
      values.tiers,
      command,
    )
  }
  const outcome = await runTier({
    tier: positionals[0],
    engine,
    loadModel: oneOf('model', values.model, ['open', 'closed'] as const),
    arrival: oneOf('arrival', values.arrival, ['constant', 'poisson'] as const),
    durationScale,
    ...(targets.length > 0 ? { target: targets } : {}),
    ...(segment ? { segment } : {}),
    ...(startAt ? { startAt } : {}),
    apiKey,
    mockProfile: values['mock-profile'],
    seed,
    out: values.out,
    tiersFile: values.tiers,
    command,
    signal,
    progress: values.quiet ? null : process.stderr,
  })
  const report = relative(process.cwd(), join(outcome.dir, 'report.html')) || join(outcome.dir, 'report.html')
  process.stdout.write(`${formatRunTable(outcome.summary, report)}\n`)
  process.stdout.write(`  exit ${outcome.exitCode}\n`)
  return outcome.exitCode
}

exitWith(main)
