import { type ParseArgsConfig, parseArgs } from 'node:util'

// The command line of the harness's commands (npm run bench:*, chaos:ci, load:ci, ...): each option
// declared once, with its type, default, bounds and help line; the usage text is written from
// those declarations, and a value that does not fit them is refused before anything starts
// (`--seconds abc` would otherwise run a benchmark of NaN seconds). --help (-h) prints the usage
// and exits 0; a bad command line prints what is wrong and the usage on stderr and exits 2, the
// code the load and chaos commands use for it.

export type FlagType = 'string' | 'boolean' | 'number' | 'integer' | 'json'

export interface Flag {
  readonly type: FlagType
  /** One line: what the option does (its default is added from `default`). */
  readonly help: string
  readonly default?: string | number | boolean
  /** The value's name in the usage (`--seconds <s>`); `value` by default. */
  readonly value?: string
  /** Numbers: the smallest and largest values allowed. */
  readonly min?: number
  readonly max?: number
  /** Strings: the values allowed. A json flag's value is a JSON object (`{}` when not given). */
  readonly choices?: readonly string[]
}

export interface CommandSpec<F extends Record<string, Flag>> {
  /** How it is run: `npm run bench:stream -- [options]`. */
  readonly usage: string
  /** What it does, in a sentence or two (printed under the usage line). */
  readonly about: string
  readonly flags: F
  /** Positional arguments, named in the usage line; none are accepted unless given. */
  readonly positionals?: { readonly min: number; readonly max: number }
  /** What is wrong with a combination of values, if anything (`--itl needs --stream`). */
  readonly check?: (values: Values<F>) => string | undefined
}

type ValueOf<T extends Flag> = T['type'] extends 'boolean'
  ? boolean
  : T['type'] extends 'number' | 'integer'
    ? T extends { readonly default: number }
      ? number
      : number | undefined
    : T['type'] extends 'json'
      ? Record<string, unknown>
      : Defaulted<T, T extends { readonly choices: readonly (infer C extends string)[] } ? C : string>

type Defaulted<T extends Flag, V> = T extends { readonly default: string } ? V : V | undefined

export type Values<F extends Record<string, Flag>> = { -readonly [K in keyof F]: ValueOf<F[K]> }

export interface Parsed<F extends Record<string, Flag>> {
  readonly help: boolean
  readonly values: Values<F>
  readonly positionals: string[]
}

/** A command line that does not fit the command's declarations. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** The usage text of a command, written from its declarations. */
export function usageText<F extends Record<string, Flag>>(spec: CommandSpec<F>): string {
  const rows = Object.entries(spec.flags).map(([name, flag]) => {
    const left =
      flag.type === 'boolean'
        ? `--${name}`
        : `--${name} <${flag.choices?.join('|') ?? flag.value ?? 'value'}>`
    const shown = flag.type !== 'boolean' && flag.default !== undefined ? ` (default ${flag.default})` : ''
    return [left, `${flag.help}${shown}`] as const
  })
  rows.push(['-h, --help', 'print this help and exit'])
  const width = Math.max(...rows.map(([left]) => left.length)) + 2
  const lines = rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`)
  return `usage: ${spec.usage}\n\n${spec.about}\n\n${lines.join('\n')}`
}

/**
 * The command line `argv` read against `spec`: numbers as numbers, defaults filled in. Throws a
 * UsageError for an unknown option, a missing or malformed value, a number out of its bounds, a
 * string not among its choices, or positional arguments the command does not take.
 */
export function parseCommandLine<const F extends Record<string, Flag>>(
  spec: CommandSpec<F>,
  argv: readonly string[],
): Parsed<F> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  }
  for (const [name, flag] of Object.entries(spec.flags))
    options[name] = { type: flag.type === 'boolean' ? 'boolean' : 'string' }
  let raw: { values: Record<string, string | boolean | undefined>; positionals: string[] }
  try {
    raw = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(parseArgsMessage(error))
  }
  if (raw.values.help === true) return { help: true, values: {} as Values<F>, positionals: raw.positionals }
  const { min = 0, max = 0 } = spec.positionals ?? {}
  if (raw.positionals.length > max)
    throw new UsageError(
      max === 0
        ? `unexpected argument '${raw.positionals[0]}': this command takes options only`
        : `too many arguments: ${raw.positionals.join(' ')}`,
    )
  if (raw.positionals.length < min) throw new UsageError('missing argument')
  const values: Record<string, unknown> = {}
  for (const [name, flag] of Object.entries(spec.flags))
    values[name] = flagValue(name, flag, raw.values[name])
  const wrong = spec.check?.(values as Values<F>)
  if (wrong !== undefined) throw new UsageError(wrong)
  return { help: false, values: values as Values<F>, positionals: raw.positionals }
}

/**
 * The command line of this process read against `spec`; --help prints the usage and exits 0, a
 * command line that does not fit prints what is wrong and the usage on stderr and exits 2.
 */
export function readCommandLine<const F extends Record<string, Flag>>(
  spec: CommandSpec<F>,
  argv: readonly string[] = process.argv.slice(2),
): Parsed<F> {
  try {
    const parsed = parseCommandLine(spec, argv)
    if (!parsed.help) return parsed
    process.stdout.write(`${usageText(spec)}\n`)
    process.exit(0)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${error.message}\n\n${usageText(spec)}\n`)
    process.exit(2)
  }
}

/**
 * parseArgs for a command that writes its own usage: a command line it refuses goes to `fail` as a
 * one-line reason, instead of a stack trace.
 */
export function parseArgsOr<const T extends ParseArgsConfig>(
  config: T,
  fail: (message: string) => never,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config)
  } catch (error) {
    fail(parseArgsMessage(error))
  }
}

/** A one-line reason for one of parseArgs' errors (its own messages suggest `--` tricks). */
export function parseArgsMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string }
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message ?? '')?.[1]
    return `unknown option${option ? ` '${option}'` : ''}`
  }
  return String(message ?? error)
}

function flagValue(name: string, flag: Flag, raw: string | boolean | undefined): unknown {
  if (flag.type === 'boolean') return raw === true || (raw === undefined && flag.default === true)
  if (flag.type === 'json')
    return jsonObject(name, (raw as string | undefined) ?? String(flag.default ?? '{}'))
  if (raw === undefined) return flag.default as string | number | undefined
  const text = raw as string
  if (flag.type === 'string') {
    if (flag.choices && !flag.choices.includes(text))
      throw new UsageError(`--${name}: '${text}' is not one of ${flag.choices.join(', ')}`)
    return text
  }
  const value = text.trim() === '' ? Number.NaN : Number(text)
  if (!Number.isFinite(value) || (flag.type === 'integer' && !Number.isInteger(value)))
    throw new UsageError(`--${name}: '${text}' is not a${flag.type === 'integer' ? 'n integer' : ' number'}`)
  if (flag.min !== undefined && value < flag.min)
    throw new UsageError(`--${name}: ${text} is below ${flag.min}`)
  if (flag.max !== undefined && value > flag.max)
    throw new UsageError(`--${name}: ${text} is above ${flag.max}`)
  return value
}

function jsonObject(name: string, text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new UsageError(`--${name}: '${text}' is not JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`--${name}: '${text}' is not a JSON object`)
  return value as Record<string, unknown>
}
