import cluster from 'node:cluster'
import { flushCompileCache } from 'node:module'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { buildApp, createLoggers } from './app.ts'
import { type Config, ConfigError, loadConfig } from './config/load.ts'
import { redactSecrets } from './config/redact.ts'
import { prepareDrain } from './workers/drain.ts'
import { Primary } from './workers/primary.ts'
import { superviseWorker, WorkerLink } from './workers/worker.ts'

// The proxy's entry point: the only module that reads process.env and argv.
// One process when server.workers is 1 and server.max_requests is 0; otherwise a node:cluster
// primary (this same file) forks the workers, which share the port.

const HELP = `Usage: npm start -- [--config <file>] [--print-config]

  --config <file>   configuration file (default: proxy/config.yaml; env PROXY_CONFIG)
  --print-config    print the effective configuration, secrets redacted, and exit
`

function parseArguments() {
  return parseArgs({
    options: {
      config: { type: 'string' },
      'print-config': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
}

async function main(): Promise<number> {
  // Every module is loaded by now: node's compile cache (node-flags.ts), when it is on, goes to
  // disk at once rather than at a clean exit, so that the next start finds it.
  flushCompileCache()
  let values: ReturnType<typeof parseArguments>['values']
  try {
    values = parseArguments().values
  } catch (err) {
    const unknown = (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    const option = /'([^']+)'/.exec((err as Error).message)?.[1]
    process.stderr.write(
      `${unknown && option ? `unknown option '${option}'` : (err as Error).message}\n\n${HELP}`,
    )
    return 2
  }
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  const file = resolve(values.config ?? process.env.PROXY_CONFIG ?? 'proxy/config.yaml')
  let config: Config
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

  const { logger, requestLogger } = createLoggers(config)
  // The listening lines are printed whatever the level: scripts wait for them.
  const announce = logger.child({}, { level: 'info' })
  const clustered = config.server.workers > 1 || config.server.max_requests > 0

  if (clustered && cluster.isPrimary) {
    announce.info({ workers: config.server.workers, config: file }, 'llm proxy primary starting workers')
    new Primary(config, logger).start()
    return -1
  }

  if (cluster.isWorker) {
    const link = new WorkerLink(config.server.workers)
    const app = await buildApp(config, { logger, requestLogger, monitoring: { cluster: link } })
    superviseWorker(app, config, logger, Math.random)
    const address = await app.listen({ host: config.server.host, port: config.server.port })
    announce.info(
      { address, worker: link.workerId, environment: config.app.environment },
      'llm proxy listening',
    )
    return -1
  }

  const app = await buildApp(config, { logger, requestLogger })
  const drainer = prepareDrain(app, () => {
    app.telemetry.shuttingDown = true
  })
  const address = await app.listen({ host: config.server.host, port: config.server.port })
  announce.info({ address, environment: config.app.environment, config: file }, 'llm proxy listening')

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'draining in-flight requests')
    drainer.drain({ timeoutMs: config.server.shutdown_timeout * 1000, logger }).then(
      (clean) => process.exit(clean ? 0 : 1),
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
