import type { DeepReadonly } from '../config/load.ts'
import type { ProviderConfig } from '../config/schema.ts'
import { anthropicMessagesOps } from './anthropic-messages.ts'
import { AnthropicStream } from './anthropic-stream.ts'
import { anthropicErrorBody, toAnthropicRequest, toOpenAICompletion } from './anthropic-translate.ts'
import { answerIds, RESPONSES_CODEC, viaChat } from './dialects.ts'
import type { ChatOptions, ChatRequest, CompletionResult, DialectOps, Json, WireAdapter } from './types.ts'

/** The Anthropic Messages wire, translated to and from OpenAI chat completions. */
export function createAnthropicAdapter(
  provider: DeepReadonly<ProviderConfig>,
  now: () => number = Date.now,
): WireAdapter {
  const basePath = new URL(provider.base_url).pathname.replace(/\/+$/, '')
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': provider.anthropic_version,
    ...provider.headers,
  }
  if (provider.api_key) headers['x-api-key'] = provider.api_key
  const messagesPath = `${basePath}/v1/messages`.replace('/v1/v1/', '/v1/')

  const ids = answerIds()
  const chat: DialectOps = {
    request(req: ChatRequest, options: ChatOptions) {
      return {
        path: messagesPath,
        headers,
        body: JSON.stringify(toAnthropicRequest(req.body, options.model, provider.default_max_tokens)),
      }
    },

    completion(body: Buffer, _req: ChatRequest): CompletionResult {
      const message = JSON.parse(body.toString('utf8'))
      if (message?.type !== 'message' || !Array.isArray(message.content)) {
        throw new TypeError('Anthropic answer is not a message')
      }
      const completion = toOpenAICompletion(message, Math.floor(now() / 1000))
      return { body: Buffer.from(JSON.stringify(completion)), usage: completion.usage }
    },

    streamTranslator(req: ChatRequest) {
      return new AnthropicStream(req.includeUsage, Math.floor(now() / 1000))
    },
  }

  return {
    wire: 'anthropic',
    modelsPath: `${basePath}/v1/models`.replace('/v1/v1/', '/v1/'),
    headers,
    dialects: {
      chat,
      messages: anthropicMessagesOps(messagesPath, headers),
      responses: viaChat(chat, RESPONSES_CODEC(ids, now)),
    },

    errorBody: anthropicErrorBody,

    models(body: Buffer) {
      const parsed = JSON.parse(body.toString('utf8'))
      if (!Array.isArray(parsed?.data)) throw new TypeError('model list without data')
      return parsed.data
        .filter((m: Json) => typeof m?.id === 'string')
        .map((m: Json) => ({
          id: m.id,
          owned_by: 'anthropic',
          created: m.created_at ? Math.floor(Date.parse(m.created_at) / 1000) : undefined,
          context_window: typeof m.max_input_tokens === 'number' ? m.max_input_tokens : undefined,
        }))
    },
  }
}
