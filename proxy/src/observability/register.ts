import type { FastifyInstance } from 'fastify'
import type { Clock } from '../clock.ts'
import { registerDebugRoutes } from '../routes/debug.ts'
import { registerHealthRoutes } from '../routes/health.ts'
import { registerMetricsRoutes } from '../routes/metrics.ts'
import type { AttachSources, Telemetry } from './telemetry.ts'

/** Starts the process's monitoring and serves /health*, /metrics* and /debug/* (buildApp's last step). */
export function registerObservability(
  app: FastifyInstance,
  telemetry: Telemetry,
  deps: AttachSources & { clock: Clock },
): void {
  telemetry.attach(deps)
  registerHealthRoutes(app, telemetry)
  registerMetricsRoutes(app, telemetry)
  registerDebugRoutes(app, { telemetry, clock: deps.clock })
  app.decorate('telemetry', telemetry)
  app.addHook('onClose', () => telemetry.stop())
}

declare module 'fastify' {
  interface FastifyInstance {
    telemetry: Telemetry
  }
}
