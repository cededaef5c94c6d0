// Model discovery: the aggregated model list (served from the proxy's model cache once warm).
import type { Scenario } from './scenario.ts'

export const models: Scenario = {
  name: 'models',
  description: 'GET /v1/models',
  method: 'GET',
  path: '/v1/models',
  stream: false,
}
