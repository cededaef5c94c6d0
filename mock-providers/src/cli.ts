/** `npm run mock`: mock-openai and mock-anthropic until SIGTERM/SIGINT. */
import { parseArgs } from 'node:util'
import { DEFAULT_PROFILE, startMocks } from './mock-server.ts'

const USAGE = `usage: npm run mock -- [--host 127.0.0.1] [--openai-port 8101] [--anthropic-port 8102]
                       [--profile baseline|realistic|flaky|outage|zero|<path>] [--seed N]
env: MOCK_OPENAI_PORT, MOCK_ANTHROPIC_PORT (flags win)`

function port(flag: string | undefined, env: string | undefined, fallback: number): number {
  const raw = flag ?? env
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`invalid port '${raw}'`)
  return value
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      'openai-port': { type: 'string' },
      'anthropic-port': { type: 'string' },
      profile: { type: 'string', default: DEFAULT_PROFILE },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const seed = values.seed === undefined ? undefined : Number(values.seed)
  if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`invalid seed '${values.seed}'`)
  const mocks = await startMocks({
    host: values.host,
    openaiPort: port(values['openai-port'], process.env.MOCK_OPENAI_PORT, 8101),
    anthropicPort: port(values['anthropic-port'], process.env.MOCK_ANTHROPIC_PORT, 8102),
    profile: values.profile,
    seed,
  })
  for (const [name, mock] of [
    ['mock-openai', mocks.openai],
    ['mock-anthropic', mocks.anthropic],
  ] as const) {
    console.log(
      `${name} listening on ${mock.url} (profile ${mock.profile().name}, seed ${mock.service.seed})`,
    )
  }
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`${signal}: stopping mock providers`)
    mocks.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  console.error(USAGE)
  process.exit(2)
})
