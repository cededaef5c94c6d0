import { CompletionCache } from './content.ts'
import { isConstant } from './distribution.ts'
import type { AnthropicModel, OpenAIModel, Profile } from './profile-schema.ts'
import type { ToolCall } from './tool-call.ts'

/** A profile prepared for the request path: model lookups by id, constant latencies detected once. */
export interface ActiveProfile {
  readonly profile: Profile
  readonly chatModels: ReadonlyMap<string, OpenAIModel>
  readonly embeddingModels: ReadonlyMap<string, OpenAIModel>
  readonly anthropicModels: ReadonlyMap<string, AnthropicModel>
  /** ITL is a constant (no randomness consumed); its value. */
  readonly constantItl: number | null
  readonly faultCount: number
  /** Answers of this profile's length range, by content seed. */
  readonly completions: CompletionCache
  /** Rendered answer tails by validated request (requests come from the parse cache, so identity is stable). */
  readonly completionTails: Map<object, string>
  /** Calls of forced tools by validated request, kept like the tails. */
  readonly toolCalls: Map<object, ToolCall>
  /** Model ids as JSON strings, for the response templates. */
  readonly modelJson: ReadonlyMap<string, string>
}

export function activateProfile(profile: Profile): ActiveProfile {
  const chatModels = new Map<string, OpenAIModel>()
  const embeddingModels = new Map<string, OpenAIModel>()
  for (const model of profile.models.openai) {
    ;(model.kind === 'embedding' ? embeddingModels : chatModels).set(model.id, model)
  }
  const itl = profile.latency.itl
  return {
    profile,
    chatModels,
    embeddingModels,
    anthropicModels: new Map(profile.models.anthropic.map((m) => [m.id, m])),
    constantItl: isConstant(itl) ? (itl.value ?? 0) : null,
    faultCount: profile.faults.length,
    completionTails: new Map(),
    toolCalls: new Map(),
    completions: new CompletionCache(profile.completion.min_tokens, profile.completion.max_tokens),
    modelJson: new Map(
      [...profile.models.openai, ...profile.models.anthropic].map((m) => [m.id, JSON.stringify(m.id)]),
    ),
  }
}
