// `npm run chaos -- <scenario> [options]`: runs one chaos scenario and exits 0 (every assertion held),
// 99 (one failed), 1 (the run broke), 2 (bad arguments or an invalid scenario), 130 (interrupted).
import { join, relative, resolve } from 'node:path'
import { parseArgsOr } from '../run/command-line.ts'
import { runChaos } from './runner.ts'
import { ChaosScenarioError, listScenarios, loadScenario, scaleScenario } from './scenario.ts'
import { formatChaosTable } from './table.ts'

const USAGE = `usage: npm run chaos -- <scenario> [options]   (scenarios/chaos/<scenario>.yaml, or a path)

  --scale <x>      time scale of the timeline (e.g. 0.5); rates and the proxy's own timers do not scale
  --seed <n>       seed of the prompts and the mocks (default 42)
  --out <dir>      run directory (default reports/out/<run-id>)
  --proxy <dir>    the proxy/ directory of another checkout to put under chaos (default this one's)
  --list           list the catalogue and exit
  --quiet          no progress lines`

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgsOr(
    {
      allowPositionals: true,
      options: {
        scale: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        proxy: { type: 'string' },
        list: { type: 'boolean', default: false },
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
  if (values.list) {
    for (const name of listScenarios()) {
      const s = loadScenario(name)
      process.stdout.write(
        `${name.padEnd(22)} ${s.load.duration} s${s.ci ? `, chaos:ci at ${s.ci.scale}` : ''}  ${s.description.split(/(?<=\.) /)[0]}\n`,
      )
    }
    return 0
  }
  if (positionals.length !== 1) fail('name exactly one scenario (npm run chaos -- --list shows them)')
  const scale = values.scale === undefined ? 1 : Number(values.scale)
  if (!(scale > 0)) fail(`--scale: '${values.scale}' is not a number > 0`)
  const seed = values.seed === undefined ? undefined : Number(values.seed)
  if (seed !== undefined && !Number.isInteger(seed)) fail(`--seed: '${values.seed}' is not an integer`)
  const scenario = scaleScenario(loadScenario(positionals[0]), scale)

  const abort = new AbortController()
  let interrupts = 0
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(130)
    process.stderr.write(
      '\ninterrupted: stopping the run and everything it started (Ctrl-C again to force)\n',
    )
    abort.abort()
  })
  process.on('SIGTERM', () => abort.abort())
  const command = `npm run chaos -- ${process.argv.slice(2).join(' ')}`.trim()
  const outcome = await runChaos({
    scenario,
    seed,
    out: values.out,
    proxyDir: values.proxy === undefined ? undefined : resolve(values.proxy),
    command,
    signal: abort.signal,
    progress: values.quiet ? null : process.stderr,
  })
  const report = relative(process.cwd(), join(outcome.dir, 'report.html')) || join(outcome.dir, 'report.html')
  process.stdout.write(`${formatChaosTable(outcome.summary, report)}\n  exit ${outcome.exitCode}\n`)
  return outcome.exitCode
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ChaosScenarioError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(2)
    }
    process.stderr.write(`${(error as Error)?.stack ?? error}\n`)
    process.exit(1)
  },
)
