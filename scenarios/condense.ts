// Context condensation: a long conversation summarised down to target_tokens. The endpoint may not
// exist on the target: the runner probes it once and skips the scenario (saying why) on a 404.
import type { Message, Prompt } from './corpus.ts'
import type { Scenario } from './scenario.ts'

export const CONDENSE_TARGET_TOKENS = 256

const REPLY =
  'Here is what I found: the upstream pool was saturated, retries amplified the load, and the breaker opened after five failures.'

/** A deterministic multi-turn conversation grown from the prompt: 3 to 8 exchanges by rank. */
export function conversation(prompt: Prompt): Message[] {
  const turns = 3 + (prompt.rank % 6)
  const messages: Message[] = [...prompt.messages]
  for (let i = 1; i < turns; i++) {
    messages.push({ role: 'assistant', content: `${REPLY} (turn ${i})` })
    messages.push({ role: 'user', content: `Follow-up ${i}: go deeper on point ${(i % 3) + 1}.` })
  }
  return messages
}

export const condense: Scenario = {
  name: 'condense',
  description: 'POST /v1/context/condense {model, messages, target_tokens}',
  method: 'POST',
  path: '/v1/context/condense',
  stream: false,
  body: (prompt) =>
    JSON.stringify({
      model: prompt.model,
      messages: conversation(prompt),
      target_tokens: CONDENSE_TARGET_TOKENS,
    }),
}
