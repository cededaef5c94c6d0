// The command line's lifecycle, the same for every long-running command (a tier, a capacity plan):
// the first Ctrl-C (or SIGTERM) asks the run to stop and clean up what it started, a second one
// forces the exit; the process exits with the run's code, or 2 for a configuration error, 1 otherwise.
import { TierError } from '../tiers.ts'

/** A signal aborted by SIGINT or SIGTERM; the first Ctrl-C prints `message`, the second exits 130. */
export function interruptSignal(message: string): AbortSignal {
  const abort = new AbortController()
  let interrupts = 0
  process.on('SIGINT', () => {
    interrupts++
    if (interrupts > 1) process.exit(130)
    process.stderr.write(`\ninterrupted: ${message} (Ctrl-C again to force)\n`)
    abort.abort()
  })
  process.on('SIGTERM', () => abort.abort())
  return abort.signal
}

/** Runs main and exits with its code: 2 on an invalid tiers file, 1 (with the stack) on any other error. */
export function exitWith(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof TierError) {
        process.stderr.write(`${error.message}\n`)
        process.exit(2)
      }
      process.stderr.write(`${(error as Error)?.stack ?? error}\n`)
      process.exit(1)
    },
  )
}

/** The command as the user typed it, for the report (`npm run <script> -- args` under npm). */
export function commandLine(fallback: string): string {
  const script = process.env.npm_lifecycle_event
  return `${script ? `npm run ${script} --` : fallback} ${process.argv.slice(2).join(' ')}`.trim()
}
