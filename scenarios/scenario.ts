// What a scenario is, independent of the engine that drives it: one HTTP call against the proxy's
// OpenAI-compatible surface, its body built from a prompt drawn from the corpus.
import type { Prompt } from './corpus.ts'

export const SCENARIO_NAMES = [
  'chat',
  'chat-stream',
  'models',
  'condense',
  'chat-stream-long',
  'embeddings',
  'messages',
  'responses',
] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

export type Scenario = {
  readonly name: ScenarioName
  readonly description: string
  readonly method: 'GET' | 'POST'
  /** Relative to the target URL, e.g. /v1/chat/completions. */
  readonly path: string
  /** Answered as server-sent events: measured for TTFT, inter-token latency and truncation. */
  readonly stream: boolean
  /** The JSON body for a drawn prompt; absent for a GET. */
  readonly body?: (prompt: Prompt) => string
}

/** One request as the engines send it. */
export type RequestSpec = {
  readonly scenario: ScenarioName
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
  readonly stream: boolean
}

export type WeightedScenario = { readonly name: ScenarioName; readonly weight: number }
