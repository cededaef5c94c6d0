// `npm run load:<tier> -- [flags]`: runs one tier and exits 0 (every baseline held), 99 (one failed),
// 3 (inconclusive: the generator may have been the limit), 1 (the run broke), 2 (bad arguments or
// tiers.yaml), 130 (interrupted).
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { ENGINES, type EngineName } from './engines/plan.ts'
import { commandLine, exitWith, interruptSignal } from './run/interrupt.ts'
import { runTier } from './run/runner.ts'
import { formatRunTable } from './run/table.ts'

const USAGE = `usage: npm run load:<tier> -- [options]      (or: node scenarios/cli.ts <tier> [options])

  --engine native|autocannon   load generator (default native)
  --model open|closed          open = arrival rate (default from tiers.yaml), closed = users with think time
  --arrival constant|poisson   open-model arrival process (default from tiers.yaml)
  --duration-scale <x>         scale the tier's duration and ramp-up (e.g. 0.1)
  --target <url>               load an existing proxy; starts no mocks and no proxy
  --api-key <key>              client key for --target (default: env LOAD_API_KEY)
  --mock-profile <name>        mock providers' profile (default baseline)
  --seed <n>                   seed of the corpus, mix and arrivals (default 42)
  --out <dir>                  run directory (default reports/out/<run-id>)
  --tiers <file>               tier definitions (default tiers.yaml)
  --quiet                      no progress line`

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

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
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
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (positionals.length !== 1) fail('name exactly one tier (light, medium, heavy, extreme, ...)')
  const durationScale = number('duration-scale', values['duration-scale'])
  if (durationScale !== undefined && durationScale <= 0) fail('--duration-scale must be > 0')
  if (values.target !== undefined && !URL.canParse(values.target))
    fail(`--target: '${values.target}' is not a URL`)

  const signal = interruptSignal('stopping the run and everything it started')
  const command = commandLine('node scenarios/cli.ts')
  const outcome = await runTier({
    tier: positionals[0],
    engine: oneOf<EngineName>('engine', values.engine, ENGINES),
    loadModel: oneOf('model', values.model, ['open', 'closed'] as const),
    arrival: oneOf('arrival', values.arrival, ['constant', 'poisson'] as const),
    durationScale,
    target: values.target,
    apiKey: values['api-key'] ?? process.env.LOAD_API_KEY ?? null,
    mockProfile: values['mock-profile'],
    seed: number('seed', values.seed, true),
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
