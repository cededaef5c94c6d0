import type { Json } from '../providers/types.ts'

/**
 * A named event (`event: <type>`), the framing of the Anthropic and Responses streams: their SDKs
 * dispatch on the event name as well as on the payload's `type`.
 */
export function sseEvent(payload: Json & { type: string }): Buffer {
  return Buffer.from(`event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`)
}
