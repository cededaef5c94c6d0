// The live progress line: redrawn in place on a terminal, one line every ~10 s otherwise (CI logs).
import type { Tick } from '../engines/plan.ts'

export type ProgressOptions = {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
  readonly label: string
  readonly totalS: number
  /** Non-terminal output: seconds between lines. */
  readonly everyS?: number
}

export type Progress = { update(tick: Tick): void; done(): void }

export function createProgress(options: ProgressOptions): Progress {
  const tty = options.out.isTTY === true
  const everyS = options.everyS ?? 10
  let requests = 0
  let errors = 0
  let lastPrinted = -Infinity
  let drawn = false
  return {
    update(tick) {
      requests += tick.requests ?? 0
      errors += tick.errors
      const line = formatProgress(options.label, tick, options.totalS, requests, errors)
      if (tty) {
        const width = options.out.columns ?? 120
        options.out.write(`\r\x1b[2K${line.slice(0, width - 1)}`)
        drawn = true
      } else if (tick.t - lastPrinted >= everyS) {
        options.out.write(`${line}\n`)
        lastPrinted = tick.t
      }
    },
    done() {
      if (tty && drawn) options.out.write('\n')
    },
  }
}

export function formatProgress(
  label: string,
  tick: Tick,
  totalS: number,
  requests: number,
  errors: number,
): string {
  const pct = requests === 0 ? 0 : (errors / requests) * 100
  const p95 = tick.p95_ms === null ? '-' : `${tick.p95_ms.toFixed(1)} ms`
  return [
    label,
    `${tick.t.toFixed(0).padStart(4)}/${totalS.toFixed(0)} s`,
    `${tick.rps.toFixed(1).padStart(6)} req/s`,
    `p95 ${p95.padStart(9)}`,
    `errors ${errors} (${pct.toFixed(2)} %)`,
    `in flight ${tick.active_users}`,
    tick.dropped > 0 ? `dropped ${tick.dropped}` : '',
  ]
    .filter(Boolean)
    .join('  ')
}
