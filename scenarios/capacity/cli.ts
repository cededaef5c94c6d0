// `npm run capacity -- [flags]`: the capacity plan. Exit 0 when the run completed (whatever it found),
// 1 when it broke, 2 on bad arguments or an invalid tiers.yaml, 130 when interrupted.
import { join, relative } from 'node:path'
import type { parseArgs } from 'node:util'
import { parseArgsOr } from '../run/command-line.ts'
import { commandLine, exitWith, interruptSignal } from '../run/interrupt.ts'
import { type CapacityConfig, loadCapacityConfig } from './config.ts'
import { runCapacity } from './run.ts'
import { formatCapacityTable } from './table.ts'

const USAGE = `usage: npm run capacity -- [options]      (or: node scenarios/capacity/cli.ts [options])

  --quick                  a short sweep (about 5 min): fewer rates, 8 s warm-up, 10 s windows
  --time-scale <x>         scale warm-up, window and drain (default 1: about 14 min)
  --workers <list>         proxy worker counts to sweep (default 1,2; tiers.yaml capacity.workers)
  --rates <n> --refine <n> rate steps and bisection steps of the first worker count
  --max-users <n>          users of the closed-loop maximum-throughput step (default 600)
  --slo-ttft-p95 <ms>      SLO (default tiers.yaml capacity.slo: TTFT p95 2000, ITL p95 100, errors 1 %)
  --slo-itl-p95 <ms>  --slo-latency-p95 <ms>  --slo-error-rate <fraction>   (0 or none: not judged)
  --users <list>           user counts to size for (default 1000,10000,100000)
  --rate <list>            demands given as request rates (req/s)
  --think-time <s>         a user's pause between answer and next request (default 30)
  --headroom <fraction>    share of an instance's ceiling kept free (default 0.3)
  --instance-memory-mb <n> memory of an instance (default 2048)
  --mock-profile <name>    the mocks' profile (default realistic)
  --cache                  keep the proxy's response cache on (default off)
  --target <url>           an already running proxy (nothing booted) with --api-key (or LOAD_API_KEY)
  --seed <n>  --out <dir>  --tiers <file>  --quiet`

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

function numberOf(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) fail(`--${flag}: '${raw}' is not a non-negative number`)
  return value
}

function listOf(flag: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined
  const values = raw.split(',').map((v) => numberOf(flag, v.trim()) as number)
  if (values.some((v) => v <= 0)) fail(`--${flag}: every value must be > 0`)
  return values
}

const FLAGS = {
  quick: { type: 'boolean', default: false },
  'time-scale': { type: 'string' },
  workers: { type: 'string' },
  rates: { type: 'string' },
  refine: { type: 'string' },
  'max-users': { type: 'string' },
  'slo-ttft-p95': { type: 'string' },
  'slo-itl-p95': { type: 'string' },
  'slo-latency-p95': { type: 'string' },
  'slo-error-rate': { type: 'string' },
  users: { type: 'string' },
  rate: { type: 'string' },
  'think-time': { type: 'string' },
  headroom: { type: 'string' },
  'instance-memory-mb': { type: 'string' },
  'mock-profile': { type: 'string' },
  cache: { type: 'boolean', default: false },
  target: { type: 'string' },
  'api-key': { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  tiers: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values']

/** tiers.yaml's capacity block with the flags applied. */
export function applyFlags(base: CapacityConfig, v: Values): CapacityConfig {
  const int = (flag: keyof Values) => {
    const value = numberOf(flag, v[flag] as string | undefined)
    if (value !== undefined && !Number.isInteger(value)) fail(`--${flag}: '${value}' is not an integer`)
    return value
  }
  const slo = { ...base.slo }
  const changed: string[] = []
  for (const [flag, key] of [
    ['slo-ttft-p95', 'ttft_p95'],
    ['slo-itl-p95', 'itl_p95'],
    ['slo-latency-p95', 'latency_p95'],
  ] as const) {
    const raw = v[flag]
    if (raw === undefined) continue
    slo[key] = raw === 'none' || raw === '0' ? null : (numberOf(flag, raw) as number)
    changed.push(`--${flag} ${raw}`)
  }
  const errorRate = numberOf('slo-error-rate', v['slo-error-rate'])
  if (errorRate !== undefined) {
    if (errorRate > 1) fail('--slo-error-rate is a fraction between 0 and 1')
    slo.error_rate_max = errorRate
    changed.push(`--slo-error-rate ${errorRate}`)
  }
  const quick = v.quick
  const sweep = {
    ...base.sweep,
    ...(quick
      ? { rates: 5, refine: 1, warmup: 8, window: 10, drain: 20, other_workers: { rates: 3, refine: 0 } }
      : {}),
  }
  const headroom = numberOf('headroom', v.headroom)
  if (headroom !== undefined && headroom >= 1) fail('--headroom is a fraction below 1')
  return {
    ...base,
    mock_profile: v['mock-profile'] ?? base.mock_profile,
    cache: v.cache || base.cache,
    workers: listOf('workers', v.workers)?.map(Math.round) ?? base.workers,
    slo,
    sloSource: changed.length ? `flags: ${changed.join(' ')}` : base.sloSource,
    sweep: {
      ...sweep,
      rates: int('rates') ?? sweep.rates,
      refine: int('refine') ?? sweep.refine,
      max_users: int('max-users') ?? sweep.max_users,
    },
    sizing: {
      ...base.sizing,
      users: listOf('users', v.users) ?? base.sizing.users,
      rates: listOf('rate', v.rate) ?? base.sizing.rates,
      think_time: numberOf('think-time', v['think-time']) ?? base.sizing.think_time,
      headroom: headroom ?? base.sizing.headroom,
      instance_memory_mb:
        numberOf('instance-memory-mb', v['instance-memory-mb']) ?? base.sizing.instance_memory_mb,
    },
  }
}

async function main(): Promise<number> {
  const parsed = parseArgsOr({ options: FLAGS, allowPositionals: false }, fail)
  const v = parsed.values
  if (v.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (v.target !== undefined && !URL.canParse(v.target)) fail(`--target: '${v.target}' is not a URL`)
  const timeScale = numberOf('time-scale', v['time-scale']) ?? 1
  if (timeScale <= 0) fail('--time-scale must be > 0')
  const seed = numberOf('seed', v.seed)
  const config = applyFlags(loadCapacityConfig(v.tiers), v)

  const signal = interruptSignal('stopping the sweep and everything it started')
  const command = commandLine('node scenarios/capacity/cli.ts')
  const outcome = await runCapacity({
    config,
    timeScale,
    target: v.target,
    apiKey: v['api-key'] ?? process.env.LOAD_API_KEY ?? null,
    seed: seed === undefined ? 42 : Math.round(seed),
    out: v.out,
    command,
    signal,
    log: v.quiet ? null : undefined,
  })
  const report = join(outcome.dir, 'report.html')
  process.stdout.write(`${formatCapacityTable(outcome.summary, relative(process.cwd(), report) || report)}\n`)
  process.stdout.write(`  exit ${outcome.exitCode}\n`)
  return outcome.exitCode
}

if (import.meta.main) exitWith(main)
