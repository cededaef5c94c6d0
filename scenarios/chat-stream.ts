// Streaming chat completion: measured for time to first token, inter-token latency, tokens/s and
// streams cut before `data: [DONE]`. include_usage asks for the final usage chunk (token count).
import type { Prompt } from './corpus.ts'
import type { Scenario } from './scenario.ts'

/** The body of a streamed chat completion of at most maxTokens tokens. */
export function streamingChatBody(prompt: Prompt, maxTokens: number): string {
  return JSON.stringify({
    model: prompt.model,
    messages: prompt.messages,
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  })
}

export const chatStream: Scenario = {
  name: 'chat-stream',
  description: 'POST /v1/chat/completions with stream: true (SSE)',
  method: 'POST',
  path: '/v1/chat/completions',
  stream: true,
  body: (prompt) => streamingChatBody(prompt, 128),
}
