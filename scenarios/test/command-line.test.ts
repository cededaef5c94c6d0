import { describe, expect, it } from 'vitest'
import { type CommandSpec, type Flag, parseCommandLine, UsageError, usageText } from '../run/command-line.ts'

const spec = {
  usage: 'npm run bench:x -- [options]',
  about: 'Measures x.',
  flags: {
    seconds: { type: 'number', default: 8, min: 1, value: 's', help: 'length of a round' },
    rounds: { type: 'integer', default: 3, min: 1, max: 10, value: 'n', help: 'rounds' },
    connections: { type: 'integer', min: 1, value: 'n', help: 'connections' },
    only: { type: 'string', choices: ['streams', 'extreme'], help: 'one part only' },
    reference: { type: 'string', default: 'dispatch', choices: ['dispatch', 'none'], help: 'reference' },
    config: { type: 'json', value: 'json', help: 'configuration' },
    stream: { type: 'boolean', help: 'streamed answers' },
    out: { type: 'string', value: 'file', help: 'results' },
  },
  check: (v) => (v.stream && v.only === 'extreme' ? '--stream has no effect on the extreme part' : undefined),
} satisfies CommandSpec<Record<string, Flag>>

const parse = (...argv: string[]) => parseCommandLine(spec, argv)
const refusal = (...argv: string[]) => {
  try {
    parse(...argv)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as Error).message
  }
  throw new Error(`accepted: ${argv.join(' ')}`)
}

describe('parseCommandLine', () => {
  it('fills in defaults and reads numbers as numbers', () => {
    const { help, values } = parse()
    expect(help).toBe(false)
    expect(values).toEqual({
      seconds: 8,
      rounds: 3,
      connections: undefined,
      only: undefined,
      reference: 'dispatch',
      config: {},
      stream: false,
      out: undefined,
    })
    const given = parse(
      '--seconds',
      '2.5',
      '--rounds=4',
      '--connections',
      '16',
      '--only',
      'streams',
      '--stream',
    )
    expect(given.values).toMatchObject({
      seconds: 2.5,
      rounds: 4,
      connections: 16,
      only: 'streams',
      stream: true,
    })
    expect(parse('--config', '{"logging":{"level":"warn"}}').values.config).toEqual({
      logging: { level: 'warn' },
    })
  })

  it('refuses what would otherwise run a benchmark of NaN seconds or stop on a stack trace', () => {
    expect(refusal('--seconds', 'abc')).toBe("--seconds: 'abc' is not a number")
    expect(refusal('--seconds', '')).toBe("--seconds: '' is not a number")
    expect(refusal('--rounds', '2.5')).toBe("--rounds: '2.5' is not an integer")
    expect(refusal('--seconds', '0')).toBe('--seconds: 0 is below 1')
    expect(refusal('--rounds', '11')).toBe('--rounds: 11 is above 10')
    expect(refusal('--only', 'both')).toBe("--only: 'both' is not one of streams, extreme")
    expect(refusal('--config', '{logging')).toBe("--config: '{logging' is not JSON")
    expect(refusal('--config', '[1]')).toBe("--config: '[1]' is not a JSON object")
    expect(refusal('--bogus')).toBe("unknown option '--bogus'")
    expect(refusal('--seconds')).toMatch(/--seconds.*argument missing/)
    expect(refusal('extra')).toBe("unexpected argument 'extra': this command takes options only")
    expect(refusal('--stream', '--only', 'extreme')).toBe('--stream has no effect on the extreme part')
  })

  it('answers --help and -h before judging the rest', () => {
    expect(parse('--help').help).toBe(true)
    expect(parse('--seconds', 'abc', '-h').help).toBe(true)
  })

  it('takes positional arguments only when the command names them', () => {
    const withTier = { ...spec, positionals: { min: 1, max: 1 } }
    expect(parseCommandLine(withTier, ['light', '--rounds', '2']).positionals).toEqual(['light'])
    expect(() => parseCommandLine(withTier, [])).toThrow('missing argument')
    expect(() => parseCommandLine(withTier, ['light', 'heavy'])).toThrow('too many arguments: light heavy')
  })
})

describe('usageText', () => {
  it('lists every option with its value, default or choices, and help', () => {
    const text = usageText(spec)
    expect(text.split('\n').slice(0, 3)).toEqual(['usage: npm run bench:x -- [options]', '', 'Measures x.'])
    expect(text).toMatch(/ {2}--seconds <s> +length of a round \(default 8\)\n/)
    expect(text).toMatch(/ {2}--only <streams\|extreme> +one part only\n/)
    expect(text).toMatch(/ {2}--reference <dispatch\|none> +reference \(default dispatch\)\n/)
    expect(text).toMatch(/ {2}--stream +streamed answers\n/)
    expect(text).toMatch(/ {2}-h, --help +print this help and exit$/)
    // The help column lines up.
    const lines = text.split('\n')
    const column = (help: string) => lines.find((l) => l.includes(help))?.indexOf(help)
    const columns = ['length of a round', 'one part only', 'streamed answers', 'print this help'].map(column)
    expect(new Set(columns).size).toBe(1)
  })
})
