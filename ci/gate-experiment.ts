// What the regression gate catches on this machine, with real runs: a tier's baseline runs (arm A),
// runs with a known regression injected through a mock profile (arm B) and runs of identical code
// (arm C), interleaved so that the machine's moods fall on every arm alike, then B and C each judged
// against A by the gate's rule (ci/gate.ts), as load:ci would.
//
//   node_modules/.bin/node ci/gate-experiment.ts --tier medium --profile ci/profiles/baseline-plus-2ms.yaml --no-cache
//
// --no-cache runs the proxy with its response cache off, so that every request reaches the mocks and a
// profile 2 ms slower to the first token slows every request by 2 ms (with the cache on, replays from
// the cache, 63 % of the medium tier's streams, are untouched). Runs go to reports/out/gate-experiment-*.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml, stringify } from 'yaml'
import { readCommandLine } from '../scenarios/run/command-line.ts'
import { REPORTS_OUT, runTier } from '../scenarios/run/runner.ts'
import { PROXY_CONFIG } from '../scenarios/run/stack.ts'
import { loadTiers } from '../scenarios/tiers.ts'
import { readSamples } from './baseline-file.ts'
import { type BucketSamples, compareRuns, ruleFor } from './gate.ts'
import { runMain } from './run-main.ts'

type Arm = { readonly name: string; readonly profile: string; readonly runs: number }

async function main(): Promise<number> {
  const { values } = readCommandLine({
    usage: 'node ci/gate-experiment.ts [options]',
    about:
      "What the regression gate catches with real runs: a tier's baseline runs, runs with a known\n" +
      'regression injected through a mock profile and runs of identical code, interleaved, then judged.',
    flags: {
      tier: { type: 'string', default: 'medium', value: 'name', help: 'the tier run in every arm' },
      profile: {
        type: 'string',
        default: 'ci/profiles/baseline-plus-2ms.yaml',
        value: 'file',
        help: 'the mock profile of the regressed arm',
      },
      'baseline-runs': {
        type: 'integer',
        default: 5,
        min: 1,
        max: 10,
        value: 'n',
        help: 'runs of the baseline arm',
      },
      runs: { type: 'integer', default: 3, min: 1, value: 'n', help: 'runs of each other arm' },
      'no-cache': {
        type: 'boolean',
        help: "the proxy's response cache off (every request reaches the mocks)",
      },
    },
  })

  const tier = loadTiers().tiers.get(values.tier)
  if (!tier) throw new Error(`unknown tier '${values.tier}'`)
  const dir = join(
    REPORTS_OUT,
    `gate-experiment-${new Date().toISOString().replaceAll(/[-:]/g, '').slice(0, 15)}`,
  )
  mkdirSync(dir, { recursive: true })
  let proxyConfig: string | undefined
  if (values['no-cache']) {
    const config = parseYaml(readFileSync(PROXY_CONFIG, 'utf8'))
    config.caching.enabled = false
    proxyConfig = join(dir, 'proxy-no-cache.yaml')
    writeFileSync(proxyConfig, stringify(config))
  }
  const { runs } = values
  const arms: Arm[] = [
    { name: 'A baseline', profile: 'baseline', runs: values['baseline-runs'] },
    { name: `B ${values.profile}`, profile: values.profile, runs },
    { name: 'C identical code', profile: 'baseline', runs },
  ]
  const samples = new Map<string, BucketSamples[]>(arms.map((a) => [a.name, []]))
  const rounds = Math.max(...arms.map((a) => a.runs))
  for (let round = 1; round <= rounds; round++) {
    for (const [i, arm] of arms.entries()) {
      if (arm.runs < round) continue
      const outcome = await runTier({
        tier: tier.name,
        durationScale: tier.ciScale,
        mockProfile: arm.profile,
        proxyConfig,
        out: join(dir, `${'abc'[i]}-${round}`),
        command: `ci/gate-experiment.ts (${arm.name}, run ${round})`,
        progress: null,
      })
      const p = outcome.summary.totals.latency_ms
      process.stdout.write(
        `${arm.name} run ${round}: ${outcome.summary.status}, p50 ${p?.p50} ms, p95 ${p?.p95} ms\n`,
      )
      samples.get(arm.name)?.push(readSamples(outcome.dir).latency_ms)
    }
  }
  const rule = ruleFor(tier.latency.percentile)
  const base = samples.get(arms[0].name) ?? []
  for (const arm of arms.slice(1)) {
    process.stdout.write(`\n${arm.name} against ${arms[0].name}:\n`)
    for (const v of compareRuns(base, samples.get(arm.name) ?? [], rule)) {
      const pct = (x: number | undefined) => `${(x ?? 0) >= 0 ? '+' : ''}${((x ?? 0) * 100).toFixed(1)} %`
      process.stdout.write(
        `  ${v.metric}: ${v.baseline} -> ${v.current} ms, ${pct(v.change)} [${pct(v.interval.low)}, ${pct(v.interval.high)}], sees ${pct(v.detectable_change)}: ${v.verdict}\n`,
      )
    }
  }
  process.stdout.write(`\nruns in ${dir}\n`)
  return 0
}

if (import.meta.main) runMain(main)
