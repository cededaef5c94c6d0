import type { Json } from '../providers/types.ts'
import { type CachedAnswer, usageChunk } from './answer.ts'
import { unpackEvents } from './sse-pack.ts'

const DONE = 'data: [DONE]\n\n'
const DONE_BYTES = Buffer.from(DONE)

/**
 * The SSE body that answers a streamed request from the cache. An answer fetched as a stream is
 * replayed chunk for chunk as the first client received it (same ids, `created` and deltas);
 * the usage chunk is added only when this client asked for it; [DONE] ends it. An answer fetched
 * without streaming is replayed as a synthesized stream: per choice a role chunk, one content
 * chunk with the whole text, one chunk with the tool calls, a finish chunk.
 */
export function sseReplay(answer: CachedAnswer, includeUsage: boolean): Buffer {
  if (answer.packedEvents.length > 0)
    return unpackEvents(answer.packedEvents, includeUsage ? [answer.usageEvent, DONE_BYTES] : [DONE_BYTES])
  return Buffer.from(synthesize(answer.body, includeUsage))
}

function synthesize(body: Buffer, includeUsage: boolean): string {
  const completion = JSON.parse(body.toString('utf8'))
  const head: Json = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
  }
  if (completion.system_fingerprint) head.system_fingerprint = completion.system_fingerprint
  let out = ''
  const chunk = (choice: Json) => {
    out += `data: ${JSON.stringify({ ...head, choices: [choice] })}\n\n`
  }
  for (const c of completion.choices ?? []) {
    const message = c.message ?? {}
    chunk({
      index: c.index,
      delta: { role: message.role ?? 'assistant', content: '' },
      logprobs: null,
      finish_reason: null,
    })
    if (typeof message.content === 'string' && message.content !== '') {
      chunk({
        index: c.index,
        delta: { content: message.content },
        logprobs: c.logprobs ?? null,
        finish_reason: null,
      })
    }
    if (typeof message.refusal === 'string' && message.refusal !== '') {
      chunk({ index: c.index, delta: { refusal: message.refusal }, logprobs: null, finish_reason: null })
    }
    if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
      const calls = message.tool_calls.map((call: Json, index: number) => ({ index, ...call }))
      chunk({ index: c.index, delta: { tool_calls: calls }, logprobs: null, finish_reason: null })
    }
    chunk({ index: c.index, delta: {}, logprobs: null, finish_reason: c.finish_reason ?? 'stop' })
  }
  if (includeUsage && completion.usage) out += usageChunk(head, completion.usage)
  return out + DONE
}
