// The files of a run directory, written by a run (and by a merge of runs) and read back by the gate and
// by load:merge: summary.json (validated), report.html, raw.json (the engine's aggregates and output),
// ticks.ndjson (per second, with the generator's own health), samples.json (latencies by second: the
// CI gate's data; TTFT and inter-token gaps of generated streams beside them) and histograms.json (every
// histogram losslessly encoded, so that runs merge exactly: engines/hdr.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { renderReport } from '../../reports/src/render.ts'
import { parseSummary, type RunSummary } from '../../reports/src/summary.ts'
import { RunHistograms } from '../engines/hdr.ts'
import type { EngineResult, Tick } from '../engines/plan.ts'

const BySecond = z.array(z.array(z.number()))

export const SamplesFile = z.object({
  bucket_s: z.number().positive(),
  /** What totals.latency_ms counts (recorder.ts), at most samplesPerBucket a second (uniformly drawn beyond). */
  latency_ms: BySecond,
  /** Generated streams (cache replays left out), the same way. */
  ttft_ms: BySecond.optional(),
  itl_ms: BySecond.optional(),
})
export type SamplesFile = z.infer<typeof SamplesFile>

/** summary.json, report.html, the engine's raw output (raw.json, ticks.ndjson), samples and histograms. */
export function writeRunFiles(dir: string, summary: RunSummary, result: EngineResult | null): void {
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(parseSummary(summary), null, 2)}\n`)
  writeFileSync(join(dir, 'report.html'), renderReport(summary))
  if (!result) return
  const { samples, ticks, raw, histograms, streamSamples, ...aggregates } = result
  writeFileSync(
    join(dir, 'raw.json'),
    `${JSON.stringify({ aggregates, engine_output: raw ?? null }, null, 2)}\n`,
  )
  writeFileSync(
    join(dir, 'ticks.ndjson'),
    ticks.map((t) => JSON.stringify(t)).join('\n') + (ticks.length ? '\n' : ''),
  )
  const samplesFile: SamplesFile = {
    bucket_s: 1,
    latency_ms: samples.map((s) => [...s]),
    ...(streamSamples
      ? { ttft_ms: streamSamples.ttft.map((s) => [...s]), itl_ms: streamSamples.itl.map((s) => [...s]) }
      : {}),
  }
  writeFileSync(join(dir, 'samples.json'), `${JSON.stringify(samplesFile)}\n`)
  if (histograms) writeFileSync(join(dir, 'histograms.json'), `${JSON.stringify(histograms)}\n`)
}

export function readSamples(runDir: string): SamplesFile {
  return SamplesFile.parse(JSON.parse(readFileSync(join(runDir, 'samples.json'), 'utf8')))
}

/** histograms.json, or null when the run wrote none (an older harness, or autocannon). */
export function readHistograms(runDir: string): RunHistograms | null {
  const file = join(runDir, 'histograms.json')
  return existsSync(file) ? RunHistograms.parse(JSON.parse(readFileSync(file, 'utf8'))) : null
}

/** ticks.ndjson: the engine's per-second ticks. */
export function readTicks(runDir: string): Tick[] {
  const file = join(runDir, 'ticks.ndjson')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Tick)
}
