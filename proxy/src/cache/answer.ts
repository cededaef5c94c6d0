import { SseParser } from '../providers/sse.ts'
import type { Json, Usage } from '../providers/types.ts'

/**
 * The normalized form of a cached chat answer, one per key whether it was fetched streamed or
 * not: a plain request is always answered with `body`; a streamed one with `events` when the
 * answer was fetched as a stream (the same chunk sequence the first client received), else with
 * a stream synthesized from `body` (see replay.ts). The answer texts are bytes, stored as
 * msgpack bin: a hit sends views of the record as they are, never decoding or re-encoding text.
 */
export interface CachedAnswer {
  /** The chat.completion JSON, as a plain request is answered. */
  readonly body: Buffer
  /** The content chunks of a streamed answer, SSE-framed, without the usage chunk and [DONE]; empty if not streamed. */
  readonly events: Buffer
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

/** A decoded record as an answer: its byte fields as Buffers (views, no copy). */
export function answerFromRecord(decoded: CachedAnswer): CachedAnswer {
  return {
    ...decoded,
    body: asBuffer(decoded.body),
    events: asBuffer(decoded.events),
    usageEvent: asBuffer(decoded.usageEvent),
  }
}

/** A non-streamed answer as it is cached. */
export function answerFromCompletion(
  body: Buffer | string,
  usage: Usage | undefined,
  origin: AnswerOrigin,
): CachedAnswer {
  return { body: asBuffer(body), events: NONE, usageEvent: NONE, usage: usage ?? null, ...origin }
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
 * A streamed answer as it is cached, from the events the client was sent (the stream ended with
 * its terminator: the caller checks). Undefined when it cannot be cached: an error event, or an
 * event that is not JSON. The chunks are also folded into a chat.completion body, so a plain
 * request can be answered from it.
 */
export function answerFromStream(
  sent: readonly Buffer[],
  usage: Usage | undefined,
  origin: AnswerOrigin,
): CachedAnswer | undefined {
  const parser = new SseParser()
  const events: Buffer[] = []
  let head: Json
  let usageSeen: Json
  const choices = new Map<number, ChoiceAcc>()
  for (const buf of sent) {
    for (const event of parser.push(buf)) {
      if (event.data === '' || event.data === '[DONE]') continue
      let chunk: Json
      try {
        chunk = JSON.parse(event.data)
      } catch {
        return undefined
      }
      if (chunk?.error || !Array.isArray(chunk?.choices)) return undefined
      head ??= chunk
      if (chunk.choices.length === 0) {
        if (chunk.usage) usageSeen = chunk.usage
        continue
      }
      events.push(event.raw)
      for (const c of chunk.choices) fold(choices, c)
    }
  }
  if (head === undefined || choices.size === 0) return undefined
  const finalUsage = usage ?? (usageSeen as Usage | undefined) ?? null
  const completion: Json = {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    ...(head.system_fingerprint ? { system_fingerprint: head.system_fingerprint } : {}),
    choices: [...choices.values()].sort((a, b) => a.index - b.index).map(toChoice),
    ...(finalUsage ? { usage: finalUsage } : {}),
  }
  return {
    body: Buffer.from(JSON.stringify(completion)),
    events: Buffer.concat(events),
    usageEvent: finalUsage ? Buffer.from(usageChunk(head, finalUsage)) : NONE,
    usage: finalUsage,
    ...origin,
  }
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
