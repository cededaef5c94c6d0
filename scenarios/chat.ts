// Chat completion, non-streaming: the bread and butter of the proxy (and what its cache serves).
import type { Scenario } from './scenario.ts'

export const chat: Scenario = {
  name: 'chat',
  description: 'POST /v1/chat/completions, non-streaming',
  method: 'POST',
  path: '/v1/chat/completions',
  stream: false,
  body: (prompt) =>
    JSON.stringify({ model: prompt.model, messages: prompt.messages, max_tokens: 128, temperature: 0 }),
}
