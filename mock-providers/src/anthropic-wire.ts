import { parseMessages } from './anthropic-request.ts'
import { anthropicErrorType, type MockError, mockError } from './errors.ts'
import { queryParam } from './json-body.ts'
import type { RouteName } from './profile-schema.ts'
import type { TokenCounter } from './tokens.ts'
import type { GenerationView, HeaderBag, ModelsRequest, ModelsView, ParsedRequest, Wire } from './wire.ts'

const MODEL_CREATED_AT = '2025-01-01T00:00:00Z'
const MESSAGE_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n'

function stopReason(view: GenerationView): string {
  const call = view.toolCall
  if (call !== null) return call.truncated ? 'max_tokens' : 'tool_use'
  return view.completion.truncated ? 'max_tokens' : 'end_turn'
}

function outputTokens(view: GenerationView): number {
  return view.toolCall?.tokens ?? view.completion.pieces.length
}

function route(method: string, path: string): RouteName | null {
  if (method === 'POST' && path === '/v1/messages') return 'messages'
  if (method === 'GET' && path === '/v1/models') return 'models'
  return null
}

/** x-api-key, or a Bearer token as Anthropic also accepts. */
function apiKey(headers: HeaderBag): string | undefined {
  const key = headers['x-api-key']
  if (typeof key === 'string' && key !== '') return key
  const auth = headers.authorization
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim() || undefined
  return undefined
}

function parse(
  routeName: RouteName,
  body: string,
  query: string,
  tokens: TokenCounter,
): ParsedRequest | MockError {
  if (routeName === 'messages') return parseMessages(body, tokens)
  const limit = Number(queryParam(query, 'limit') ?? 20)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return mockError(400, 'limit: Input should be greater than or equal to 1 and less than or equal to 1000')
  }
  return {
    kind: 'models',
    route: 'models',
    limit,
    afterId: queryParam(query, 'after_id'),
    beforeId: queryParam(query, 'before_id'),
  }
}

function errorBody(error: MockError): string {
  return JSON.stringify({
    type: 'error',
    error: { type: anthropicErrorType(error.status), message: error.message },
  })
}

function usageJson(input: number, output: number): string {
  return `{"input_tokens":${input},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":${output},"service_tier":"standard"}`
}

/** The head ends with what varies per request: the message id, and a tool call's id. */
function completionHead(view: GenerationView): string {
  if (view.toolCall === null) return `{"id":"msg_${view.id}",`
  return (
    `{"id":"msg_${view.id}","type":"message","role":"assistant","model":${view.modelJson},` +
    `"content":[{"type":"tool_use","id":"toolu_${view.id}",`
  )
}

function completionTail(view: GenerationView): string {
  const call = view.toolCall
  const content =
    call === null
      ? `"type":"message","role":"assistant","model":${view.modelJson},"content":[{"type":"text","text":"${view.completion.text}"}],`
      : `"name":${call.nameJson},"input":${call.input}}],`
  return (
    `${content}"stop_reason":"${stopReason(view)}","stop_sequence":null,` +
    `"usage":${usageJson(view.promptTokens, outputTokens(view))}}`
  )
}

/** What Anthropic sends while a stream has nothing else to say (and as the third event of every stream). */
const PING_EVENT = 'event: ping\ndata: {"type":"ping"}\n\n'

/**
 * message_start, content_block_start, ping, one text_delta per token (a tool call: one
 * input_json_delta per arguments piece), content_block_stop, message_delta, message_stop.
 */
function streamEvents(view: GenerationView): string[] {
  const call = view.toolCall
  const pieces = view.completion.pieces
  const events = new Array<string>((call === null ? pieces.length : call.piecesJson.length) + 6)
  let n = 0
  events[n++] =
    `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_${view.id}","type":"message","role":"assistant",` +
    `"model":${view.modelJson},"content":[],"stop_reason":null,"stop_sequence":null,"usage":${usageJson(view.promptTokens, 1)}}}\n\n`
  events[n++] =
    call === null
      ? 'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
      : `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_${view.id}","name":${call.nameJson},"input":{}}}\n\n`
  events[n++] = PING_EVENT
  if (call === null) {
    // Vocabulary pieces are plain ASCII words (test/content.test.ts), so they need no JSON escaping.
    for (let i = 0; i < pieces.length; i++) {
      events[n++] =
        `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${pieces[i]}"}}\n\n`
    }
  } else {
    for (const piece of call.piecesJson) {
      events[n++] =
        `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":${piece}}}\n\n`
    }
  }
  events[n++] = 'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
  events[n++] =
    `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"${stopReason(view)}","stop_sequence":null},` +
    `"usage":{"output_tokens":${outputTokens(view)}}}\n\n`
  events[n++] = MESSAGE_STOP
  return events
}

/** Keeps the event line, cuts the JSON of the data line in half. */
function malformEvent(event: string): string {
  const dataAt = event.indexOf('data: ') + 6
  const json = event.slice(dataAt, event.length - 2)
  return `${event.slice(0, dataAt)}${json.slice(0, Math.max(1, Math.floor(json.length / 2)))}\n\n`
}

/** One page of the list, newest first as Anthropic orders it; after_id pages forward, before_id backward. */
function modelsBody(models: ModelsView, request: ModelsRequest): string {
  const list = models.anthropic
  let start = 0
  let end = list.length
  if (request.afterId !== null) start = list.findIndex((m) => m.id === request.afterId) + 1
  if (request.beforeId !== null) {
    const at = list.findIndex((m) => m.id === request.beforeId)
    if (at !== -1) end = at
    start = Math.max(start, end - request.limit)
  }
  const page = list.slice(start, Math.min(end, start + request.limit))
  const hasMore = request.beforeId !== null ? start > 0 : start + request.limit < end
  return JSON.stringify({
    data: page.map((m) => ({
      type: 'model',
      id: m.id,
      display_name: m.display_name ?? m.id,
      created_at: MODEL_CREATED_AT,
    })),
    has_more: hasMore,
    first_id: page.length > 0 ? page[0].id : null,
    last_id: page.length > 0 ? page[page.length - 1].id : null,
  })
}

export const anthropicWire: Wire = {
  name: 'anthropic',
  streamLead: 3,
  toolStreamLead: 3,
  keepAliveEvent: PING_EVENT,
  route,
  apiKey,
  parse,
  errorBody,
  completionHead,
  completionTail,
  streamEvents,
  malformEvent,
  errorEvent: (error: MockError) => `event: error\ndata: ${errorBody(error)}\n\n`,
  modelsBody,
  embeddingsBody: () => {
    throw new Error('the Anthropic wire has no embeddings route')
  },
  notFound: () => mockError(404, 'Not Found'),
  unauthorized: () => mockError(401, 'invalid x-api-key'),
  modelNotFound: (model) => mockError(404, `model: ${model}`),
  contextLengthExceeded: (promptTokens, window) =>
    mockError(400, `prompt is too long: ${promptTokens} tokens > ${window} maximum`),
}
