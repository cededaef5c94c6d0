// The sequence of requests a run sends: scenario by weight, prompt by popularity, body by scenario.
// Engine-neutral: the native engine and autocannon both call next().
import { SCENARIOS } from './catalog.ts'
import { createPromptSource } from './corpus.ts'
import { createPicker } from './mixed.ts'
import { streamFor } from './random.ts'
import type { RequestSpec, WeightedScenario } from './scenario.ts'
import type { CorpusConfig } from './tiers.ts'

export type WorkloadOptions = {
  readonly mix: readonly WeightedScenario[]
  readonly corpus: CorpusConfig
  readonly seed: number
  /** Sent as `Authorization: Bearer <key>`; null sends none. */
  readonly apiKey: string | null
}

export type Workload = { next(): RequestSpec }

export function createWorkload(options: WorkloadOptions): Workload {
  const prompts = createPromptSource({ ...options.corpus, seed: options.seed })
  const pick = createPicker(options.mix, streamFor(options.seed, 'mix'))
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}
  const jsonHeaders = Object.freeze({ ...auth, 'content-type': 'application/json' })
  const streamHeaders = Object.freeze({ ...jsonHeaders, accept: 'text/event-stream' })
  const getHeaders = Object.freeze({ ...auth })
  return {
    next() {
      const scenario = SCENARIOS[pick()]
      const body = scenario.body ? scenario.body(prompts.next()) : undefined
      return {
        scenario: scenario.name,
        method: scenario.method,
        path: scenario.path,
        headers: scenario.stream ? streamHeaders : body === undefined ? getHeaders : jsonHeaders,
        body,
        stream: scenario.stream,
      }
    },
  }
}
