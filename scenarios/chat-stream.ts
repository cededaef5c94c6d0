// Streaming chat completion: measured for time to first token, inter-token latency, tokens/s and
// streams cut before `data: [DONE]`. include_usage asks for the final usage chunk (token count).
import type { Scenario } from './scenario.ts'

export const chatStream: Scenario = {
  name: 'chat-stream',
  description: 'POST /v1/chat/completions with stream: true (SSE)',
  method: 'POST',
  path: '/v1/chat/completions',
  stream: true,
  body: (prompt) =>
    JSON.stringify({
      model: prompt.model,
      messages: prompt.messages,
      max_tokens: 128,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
}
