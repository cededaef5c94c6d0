import { type MockError, mockError, openaiErrorType } from './errors.ts'
import { queryParam } from './json-body.ts'
import { parseChat, parseEmbeddings } from './openai-request.ts'
import type { RouteName } from './profile-schema.ts'
import type { TokenCounter } from './tokens.ts'
import type {
  EmbeddingsRequest,
  GenerationView,
  HeaderBag,
  ModelsRequest,
  ModelsView,
  ParsedRequest,
  Wire,
} from './wire.ts'

const FINGERPRINT = 'fp_mock'
const DONE = 'data: [DONE]\n\n'

function usageJson(prompt: number, completion: number): string {
  return (
    `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion},` +
    '"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},' +
    '"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}'
  )
}

function finishReason(view: GenerationView): string {
  const call = view.toolCall
  if (call !== null) return call.truncated ? 'length' : 'tool_calls'
  return view.completion.truncated ? 'length' : 'stop'
}

function completionTokens(view: GenerationView): number {
  return view.toolCall?.tokens ?? view.completion.pieces.length
}

function route(method: string, path: string): RouteName | null {
  if (method === 'POST') {
    if (path === '/v1/chat/completions') return 'chat'
    if (path === '/v1/embeddings') return 'embeddings'
  } else if (method === 'GET' && path === '/v1/models') {
    return 'models'
  }
  return null
}

function apiKey(headers: HeaderBag): string | undefined {
  const value = headers.authorization
  if (typeof value !== 'string' || !value.startsWith('Bearer ')) return undefined
  return value.slice(7).trim() || undefined
}

function parse(
  routeName: RouteName,
  body: string,
  query: string,
  tokens: TokenCounter,
): ParsedRequest | MockError {
  if (routeName === 'chat') return parseChat(body, tokens)
  if (routeName === 'embeddings') return parseEmbeddings(body, tokens)
  const limit = Number(queryParam(query, 'limit') ?? 1000)
  return { kind: 'models', route: 'models', limit: limit > 0 ? limit : 1000, afterId: null, beforeId: null }
}

function errorBody(error: MockError): string {
  return JSON.stringify({
    error: {
      message: error.message,
      type: openaiErrorType(error.status),
      param: error.param,
      code: error.code,
    },
  })
}

/** The head ends with what varies per request: the id, created, and a tool call's id. */
function completionHead(view: GenerationView): string {
  const head = `{"id":"chatcmpl-${view.id}","object":"chat.completion","created":${view.created},`
  if (view.toolCall === null) return head
  return (
    `${head}"model":${view.modelJson},"system_fingerprint":"${FINGERPRINT}","choices":[{"index":0,"message":` +
    `{"role":"assistant","content":null,"tool_calls":[{"id":"call_${view.id}",`
  )
}

function completionTail(view: GenerationView): string {
  const call = view.toolCall
  const message =
    call === null
      ? `"model":${view.modelJson},"system_fingerprint":"${FINGERPRINT}","choices":[{"index":0,"message":{"role":"assistant","content":"${view.completion.text}",`
      : `"type":"function","function":{"name":${call.nameJson},"arguments":${call.argumentsJson}}}],`
  return (
    `${message}"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"${finishReason(view)}"}],` +
    `"usage":${usageJson(view.promptTokens, completionTokens(view))},"service_tier":"default"}`
  )
}

/**
 * role chunk, one chunk per token (a tool call: its id and name, then one chunk per arguments
 * piece), the finish_reason chunk, the usage chunk if asked, [DONE].
 */
function streamEvents(view: GenerationView): string[] {
  const call = view.toolCall
  const pieces = view.completion.pieces
  const head =
    `data: {"id":"chatcmpl-${view.id}","object":"chat.completion.chunk","created":${view.created},` +
    `"model":${view.modelJson},"system_fingerprint":"${FINGERPRINT}","choices":[`
  const tail = view.includeUsage ? '],"usage":null}\n\n' : ']}\n\n'
  const body = call === null ? pieces.length : call.piecesJson.length + 1
  const events = new Array<string>(body + (view.includeUsage ? 4 : 3))
  let n = 0
  events[n++] =
    `${head}{"index":0,"delta":{"role":"assistant","content":${call === null ? '""' : 'null'},"refusal":null},"logprobs":null,"finish_reason":null}${tail}`
  if (call === null) {
    // Vocabulary pieces are plain ASCII words (test/content.test.ts), so they need no JSON escaping.
    for (let i = 0; i < pieces.length; i++) {
      events[n++] =
        `${head}{"index":0,"delta":{"content":"${pieces[i]}"},"logprobs":null,"finish_reason":null}${tail}`
    }
  } else {
    events[n++] =
      `${head}{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_${view.id}","type":"function",` +
      `"function":{"name":${call.nameJson},"arguments":""}}]},"logprobs":null,"finish_reason":null}${tail}`
    for (const piece of call.piecesJson) {
      events[n++] =
        `${head}{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":${piece}}}]},"logprobs":null,"finish_reason":null}${tail}`
    }
  }
  events[n++] = `${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${finishReason(view)}"}${tail}`
  if (view.includeUsage) {
    events[n++] = `${head}],"usage":${usageJson(view.promptTokens, completionTokens(view))}}\n\n`
  }
  events[n++] = DONE
  return events
}

/** Cuts the JSON of a data line in half: the line is still `data: ...` but no longer parses. */
function malformEvent(event: string): string {
  if (event === DONE) return 'data: {"id":"chatcmpl-broken","object":\n\n'
  return `${event.slice(0, Math.floor(event.length / 2))}\n\n`
}

function modelsBody(models: ModelsView, _request: ModelsRequest): string {
  return JSON.stringify({
    object: 'list',
    data: models.openai.map((m) => ({
      id: m.id,
      object: 'model',
      created: 1715367049,
      owned_by: m.owned_by,
    })),
  })
}

function embeddingsBody(request: EmbeddingsRequest, vectors: Float32Array[]): string {
  const data = vectors.map((vector, index) => ({
    object: 'embedding',
    index,
    embedding: request.base64
      ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')
      : Array.from(vector),
  }))
  return JSON.stringify({
    object: 'list',
    data,
    model: request.model,
    usage: { prompt_tokens: request.promptTokens, total_tokens: request.promptTokens },
  })
}

export const openaiWire: Wire = {
  name: 'openai',
  streamLead: 1,
  toolStreamLead: 2,
  keepAliveEvent: ': keep-alive\n\n',
  route,
  apiKey,
  parse,
  errorBody,
  completionHead,
  completionTail,
  streamEvents,
  malformEvent,
  errorEvent: (error: MockError) => `data: ${errorBody(error)}\n\n`,
  modelsBody,
  embeddingsBody,
  notFound: (method, path) => mockError(404, `Invalid URL (${method} ${path})`),
  unauthorized: () =>
    mockError(
      401,
      'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
      null,
      'invalid_api_key',
    ),
  modelNotFound: (model, routeName) =>
    mockError(
      404,
      routeName === 'embeddings'
        ? `The model \`${model}\` does not exist or is not an embeddings model.`
        : `The model \`${model}\` does not exist or you do not have access to it.`,
      null,
      'model_not_found',
    ),
  contextLengthExceeded: (promptTokens, window, routeName) =>
    mockError(
      400,
      `This model's maximum context length is ${window} tokens. However, your ${routeName === 'embeddings' ? 'input' : 'messages'} resulted in ${promptTokens} tokens. Please reduce the length of the ${routeName === 'embeddings' ? 'input' : 'messages'}.`,
      routeName === 'embeddings' ? 'input' : 'messages',
      'context_length_exceeded',
    ),
}
