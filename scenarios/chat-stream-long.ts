// Streaming chat at the answer's natural length, as a chat UI asks for it: max_tokens is a ceiling
// the model rarely reaches (the mock's profile decides the length). The capacity workload
// (`npm run capacity`): long-lived streams whose count, not their CPU, bounds an instance.
import { chatStream, streamingChatBody } from './chat-stream.ts'
import type { Scenario } from './scenario.ts'

export const CHAT_STREAM_LONG_MAX_TOKENS = 4096

export const chatStreamLong: Scenario = {
  ...chatStream,
  name: 'chat-stream-long',
  description: `POST /v1/chat/completions with stream: true, max_tokens ${CHAT_STREAM_LONG_MAX_TOKENS} (natural-length answers)`,
  body: (prompt) => streamingChatBody(prompt, CHAT_STREAM_LONG_MAX_TOKENS),
}
