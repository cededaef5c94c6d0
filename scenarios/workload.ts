// The sequence of requests a run sends: scenario by weight, prompt by popularity, body by scenario.
// Engine-neutral: autocannon calls next(); the native engine asks for request(k), the request of
// arrival (or send) k of the schedule, so that an arrival it dropped, or one another execution segment
// sends, leaves the requests of the others where they were: the shards of a split run send the requests
// of one run between them.
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

export type Workload = {
  /** The next request of the sequence. */
  next(): RequestSpec
  /** Request `index` of the sequence (0-based; increasing from call to call): those skipped are drawn, not built. */
  request(index: number): RequestSpec
}

export function createWorkload(options: WorkloadOptions): Workload {
  const prompts = createPromptSource({ ...options.corpus, seed: options.seed })
  const pick = createPicker(options.mix, streamFor(options.seed, 'mix'))
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}
  const jsonHeaders = Object.freeze({ ...auth, 'content-type': 'application/json' })
  const streamHeaders = Object.freeze({ ...jsonHeaders, accept: 'text/event-stream' })
  const getHeaders = Object.freeze({ ...auth })
  let position = 0
  const next = (): RequestSpec => {
    position++
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
  }
  return {
    next,
    request(index) {
      if (index < position) throw new RangeError(`request ${index} was already drawn (at ${position})`)
      // The same draws as next(), without building the body.
      for (; position < index; position++) if (SCENARIOS[pick()].body) prompts.next()
      return next()
    },
  }
}
