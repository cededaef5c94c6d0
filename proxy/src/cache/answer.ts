import { SSE_DONE, SseParser } from '../providers/sse.ts'
import type { Json, Usage } from '../providers/types.ts'
import { type EventPacker, packEvents, unpackEvents } from './sse-pack.ts'

/**
 * The normalized form of a cached chat answer, one per key whether it was fetched streamed or
 * not: a plain request is always answered with `body`; a streamed one with `events` when the
 * answer was fetched as a stream (the same chunk sequence the first client received), else with
 * a stream synthesized from `body` (see replay.ts). The answer texts are bytes, stored as
 * msgpack bin: a hit sends views of the record as they are, never decoding or re-encoding text.
 */
export interface CachedAnswer {
  /**
   * The chat.completion JSON, as a plain request is answered. Stored empty for an answer fetched
   * as a stream; read from the cache, it is folded from the events when asked (answerFromRecord).
   */
  readonly body: Buffer
  /**
   * The chunks of a streamed answer as its first client was sent them, without the usage chunk and
   * [DONE], packed (sse-pack.ts: each event as what it shares with the one before and the rest);
   * empty if not streamed.
   */
  readonly packedEvents: Buffer
  /** The usage chunk (SSE-framed) sent before [DONE] to a client that asked for it; empty when unknown. */
  readonly usageEvent: Buffer
  readonly usage: Usage | null
  /** The provider that answered (for invalidation by provider). */
  readonly provider: string
  /** The route (canonical model name) it answers for (for invalidation by pattern). */
  readonly model: string
  /** When it was fetched (epoch ms), for the age header. */
  readonly storedAt: number
  /** The conversation was condensed to fit the model: prompt tokens before and after. */
  readonly condensed: { before: number; after: number } | null
}

export interface AnswerOrigin {
  readonly provider: string
  readonly model: string
  readonly storedAt: number
  readonly condensed: { before: number; after: number } | null
}

const NONE = Buffer.alloc(0)

/** A Buffer over the same bytes (a decoded record gives Uint8Array views; fastify sends Buffers). */
export function asBuffer(bytes: Uint8Array | string | undefined): Buffer {
  if (bytes === undefined) return NONE
  if (typeof bytes === 'string') return Buffer.from(bytes)
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * A decoded record as an answer: its byte fields as Buffers (views, no copy). A streamed answer
 * is stored without its chat.completion body (answerFromStream): a plain request answered from it
 * gets the body folded from its events then. The body is not kept: this object lives as long as
 * the entry, whose size was counted without it, and a plain request for an answer fetched as a
 * stream is the exception.
 */
export function answerFromRecord(decoded: CachedAnswer): CachedAnswer {
  const body = asBuffer(decoded.body)
  const packedEvents = asBuffer(decoded.packedEvents)
  const usage = decoded.usage ?? null
  return {
    ...decoded,
    packedEvents,
    usageEvent: asBuffer(decoded.usageEvent),
    get body() {
      if (body.length > 0 || packedEvents.length === 0) return body
      return completionFromEvents(unpackEvents(packedEvents), usage)
    },
  }
}

/** A non-streamed answer as it is cached. */
export function answerFromCompletion(
  body: Buffer | string,
  usage: Usage | undefined,
  origin: AnswerOrigin,
): CachedAnswer {
  return { body: asBuffer(body), packedEvents: NONE, usageEvent: NONE, usage: usage ?? null, ...origin }
}

interface ChoiceAcc {
  index: number
  role: string
  content: string | null
  refusal: string | null
  toolCalls: Json[]
  finishReason: string | null
  logprobs: Json[] | null
}

/**
 * A streamed answer as it is cached: the chunks its first client was sent (`chunks`, the flight's
 * log of a stream that ended with its terminator, every chunk already checked by the relay), less
 * the usage chunk (at `usageIndex`, -1 if none; kept apart, for the clients that ask for it) and
 * [DONE], packed. Nothing is parsed here, on every cacheable miss: `body` is left empty, folded
 * from the events when a plain request is answered from the entry (answerFromRecord). Undefined
 * when no chunk is left to store. `packer`: the cache's (it keeps its scratch), else one of its own.
 */
export function answerFromStream(
  chunks: readonly Buffer[],
  usageIndex: number,
  usage: Usage | undefined,
  origin: AnswerOrigin,
  packer?: EventPacker,
): CachedAnswer | undefined {
  const events: Buffer[] = []
  for (let i = 0; i < chunks.length; i++)
    if (i !== usageIndex && !chunks[i].equals(SSE_DONE)) events.push(chunks[i])
  if (events.length === 0) return undefined
  return {
    body: NONE,
    packedEvents: packer ? packer.pack(events) : packEvents(events),
    usageEvent: usageIndex === -1 ? NONE : chunks[usageIndex],
    usage: usage ?? null,
    ...origin,
  }
}

/**
 * The chat.completion a plain request is answered with, folded from a streamed answer's events:
 * the text, refusal, tool calls, log probabilities and finish reason of each choice, the first
 * chunk's id, created, model and fingerprint, and the usage. An event that does not parse (none
 * does: the relay checked each) is skipped.
 */
export function completionFromEvents(events: Buffer, usage: Usage | null): Buffer {
  const parser = new SseParser()
  let head: Json
  const choices = new Map<number, ChoiceAcc>()
  for (const event of parser.push(events)) {
    const data = event.data
    if (data === '' || data === '[DONE]') continue
    let chunk: Json
    try {
      chunk = JSON.parse(data)
    } catch {
      continue
    }
    if (!Array.isArray(chunk?.choices)) continue
    head ??= chunk
    for (const c of chunk.choices) fold(choices, c)
  }
  const completion: Json = {
    id: head?.id,
    object: 'chat.completion',
    created: head?.created,
    model: head?.model,
    ...(head?.system_fingerprint ? { system_fingerprint: head.system_fingerprint } : {}),
    choices: [...choices.values()].sort((a, b) => a.index - b.index).map(toChoice),
    ...(usage ? { usage } : {}),
  }
  return Buffer.from(JSON.stringify(completion))
}

/** The chunk OpenAI sends last when the client asked for stream_options.include_usage. */
export function usageChunk(head: Json, usage: Usage): string {
  const chunk: Json = {
    id: head.id,
    object: 'chat.completion.chunk',
    created: head.created,
    model: head.model,
  }
  if (head.system_fingerprint) chunk.system_fingerprint = head.system_fingerprint
  chunk.choices = []
  chunk.usage = usage
  return `data: ${JSON.stringify(chunk)}\n\n`
}

function fold(choices: Map<number, ChoiceAcc>, c: Json): void {
  const index = typeof c?.index === 'number' ? c.index : 0
  let acc = choices.get(index)
  if (acc === undefined) {
    acc = {
      index,
      role: 'assistant',
      content: null,
      refusal: null,
      toolCalls: [],
      finishReason: null,
      logprobs: null,
    }
    choices.set(index, acc)
  }
  const delta = c.delta ?? {}
  if (typeof delta.role === 'string') acc.role = delta.role
  if (typeof delta.content === 'string') acc.content = (acc.content ?? '') + delta.content
  if (typeof delta.refusal === 'string') acc.refusal = (acc.refusal ?? '') + delta.refusal
  if (Array.isArray(delta.tool_calls)) {
    for (const call of delta.tool_calls) {
      const i = typeof call?.index === 'number' ? call.index : acc.toolCalls.length
      const known = acc.toolCalls[i] ?? { id: '', type: 'function', function: { name: '', arguments: '' } }
      if (call.id) known.id = call.id
      if (call.type) known.type = call.type
      if (call.function?.name) known.function.name += call.function.name
      if (call.function?.arguments) known.function.arguments += call.function.arguments
      acc.toolCalls[i] = known
    }
  }
  if (c.finish_reason) acc.finishReason = c.finish_reason
  if (Array.isArray(c.logprobs?.content)) acc.logprobs = [...(acc.logprobs ?? []), ...c.logprobs.content]
}

function toChoice(acc: ChoiceAcc): Json {
  const message: Json = { role: acc.role, content: acc.content, refusal: acc.refusal }
  const calls = acc.toolCalls.filter(Boolean)
  if (calls.length > 0) message.tool_calls = calls
  return {
    index: acc.index,
    message,
    logprobs: acc.logprobs ? { content: acc.logprobs } : null,
    finish_reason: acc.finishReason,
  }
}
