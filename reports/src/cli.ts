// `npm run report -- <summary.json> [-o report.html]`: re-renders a report from a summary file.
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { renderCapacityReport } from './capacity-render.ts'
import { isCapacitySummary, parseCapacitySummary } from './capacity-summary.ts'
import { renderChaosReport } from './chaos-render.ts'
import { isChaosSummary, parseChaosSummary } from './chaos-summary.ts'
import { renderReport } from './render.ts'
import { parseSummary, SummaryError } from './summary.ts'

const USAGE = 'usage: npm run report -- <summary.json> [-o report.html]'

export type CliIo = { stdout: (line: string) => void; stderr: (line: string) => void }

/** Returns the exit code: 0 written, 1 invalid summary or unreadable file, 2 bad usage. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${USAGE}`)
    return 2
  }
  if (parsed.values.help) {
    io.stdout(USAGE)
    return 0
  }
  if (parsed.positionals.length !== 1) {
    io.stderr(USAGE)
    return 2
  }
  const input = resolve(parsed.positionals[0])
  const output = resolve(parsed.values.output ?? join(dirname(input), 'report.html'))
  try {
    const text = await readFile(input, 'utf8')
    // Chaos runs and capacity plans have summaries and renderers of their own.
    const json = safeJson(text)
    const html = isChaosSummary(json)
      ? renderChaosReport(parseChaosSummary(text))
      : isCapacitySummary(json)
        ? renderCapacityReport(parseCapacitySummary(json))
        : renderReport(parseSummary(text))
    await writeFile(output, html)
  } catch (error) {
    io.stderr(error instanceof SummaryError ? `${input}: ${error.message}` : (error as Error).message)
    return 1
  }
  io.stdout(output)
  return 0
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  })
}
