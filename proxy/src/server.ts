import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { buildApp, createLogger } from './app.ts'
import { ConfigError, loadConfig } from './config/load.ts'
import { redactSecrets } from './config/redact.ts'

// The proxy's entry point: the only module that reads process.env and argv.

const HELP = `Usage: npm start -- [--config <file>] [--print-config]

  --config <file>   configuration file (default: proxy/config.yaml; env PROXY_CONFIG)
  --print-config    print the effective configuration, secrets redacted, and exit
`

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      'print-config': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  const file = resolve(values.config ?? process.env.PROXY_CONFIG ?? 'proxy/config.yaml')
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig({ file, env: process.env })
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      return 2
    }
    throw err
  }
  if (values['print-config']) {
    process.stdout.write(`${JSON.stringify(redactSecrets(config), null, 2)}\n`)
    return 0
  }

  const logger = createLogger(config)
  const app = await buildApp(config, { logger })
  const address = await app.listen({ host: config.server.host, port: config.server.port })
  logger.info({ address, environment: config.app.environment, config: file }, 'llm proxy listening')

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'draining in-flight requests')
    const deadline = setTimeout(() => {
      logger.warn('shutdown deadline reached, closing remaining connections')
      process.exit(1)
    }, config.server.shutdown_timeout * 1000)
    deadline.unref()
    app.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'error while closing')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  return -1
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code)
  },
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`)
    process.exit(1)
  },
)
