// The OpenAI Responses API, streamed (the current OpenAI SDK's default surface): input items onto chat
// completions upstream. Measured like chat streams: TTFT at the first response.output_text.delta,
// complete at response.completed.
import type { Scenario } from './scenario.ts'

export const responses: Scenario = {
  name: 'responses',
  description: 'POST /v1/responses with stream: true (OpenAI Responses, SSE)',
  method: 'POST',
  path: '/v1/responses',
  stream: true,
  body: (prompt) =>
    JSON.stringify({
      model: prompt.model,
      instructions: prompt.messages.find((m) => m.role === 'system')?.content,
      input: prompt.messages.filter((m) => m.role !== 'system'),
      max_output_tokens: 128,
      temperature: 0,
      stream: true,
    }),
}
