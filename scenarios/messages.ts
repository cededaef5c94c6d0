// The Anthropic Messages API, streamed (what Anthropic-SDK clients and coding agents speak): served
// by any deployment of the prompt's model, passed through or translated. Measured like chat streams:
// TTFT at the first text delta, ITL between deltas, complete at message_stop.
import type { Scenario } from './scenario.ts'

export const messages: Scenario = {
  name: 'messages',
  description: 'POST /v1/messages with stream: true (Anthropic Messages, SSE)',
  method: 'POST',
  path: '/v1/messages',
  stream: true,
  body: (prompt) =>
    JSON.stringify({
      model: prompt.model,
      max_tokens: 128,
      temperature: 0,
      system: prompt.messages.find((m) => m.role === 'system')?.content,
      messages: prompt.messages.filter((m) => m.role !== 'system'),
      stream: true,
    }),
}
