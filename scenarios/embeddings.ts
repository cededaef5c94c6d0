// Embeddings: the user text of a prompt turned into a vector (what retrieval pipelines send, and the
// most cacheable answer the proxy serves). The model is the proxy's embedding route.
import type { Scenario } from './scenario.ts'

export const EMBEDDING_MODEL = 'text-embedding-3-small'

export const embeddings: Scenario = {
  name: 'embeddings',
  description: 'POST /v1/embeddings',
  method: 'POST',
  path: '/v1/embeddings',
  stream: false,
  body: (prompt) =>
    JSON.stringify({ model: EMBEDDING_MODEL, input: prompt.messages[prompt.messages.length - 1].content }),
}
