// The end of every ci/ command: run main, exit with its code, or print the error and exit 1.
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${(error as Error)?.stack ?? error}\n`)
      process.exit(1)
    },
  )
}
