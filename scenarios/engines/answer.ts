// Whether a 2xx answer that is not a stream is the answer it claims to be. A gateway can fail under
// a 200 status: an error object in the body (a provider's error relayed as is, Anthropic's
// `{"type":"error"}`, a Responses object whose status is `failed`), an empty body, JSON cut short.
// Counted as successes, a run against a gateway that answers every request that way would pass.

/** Why a 2xx answer is a failure: `error_answer`, `empty_answer`, `malformed_answer`. */
export type AnswerFailure = 'error_answer' | 'empty_answer' | 'malformed_answer'

/**
 * The failure a 2xx answer's body hides, or null for a real answer. A JSON body (by its content
 * type, or by its first character when the type is absent) must parse, and must not be an error
 * object; another type (the metrics' text) only must not be empty. Statuses without a body (204,
 * 205) pass as they are.
 */
export function answerFailure(
  status: number,
  contentType: string | undefined,
  body: string,
): AnswerFailure | null {
  if (status === 204 || status === 205) return null
  const start = firstNonSpace(body)
  if (start < 0) return 'empty_answer'
  const first = body.charCodeAt(start)
  const json = contentType === undefined ? first === 0x7b || first === 0x5b : JSON_TYPE.test(contentType)
  if (!json) return null
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    return 'malformed_answer'
  }
  return isErrorObject(value) ? 'error_answer' : null
}

/** Whether a parsed answer (or a stream's chunk) is an error object, whatever wire it speaks. */
export function isErrorObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const v = value as { error?: unknown; type?: unknown; object?: unknown; status?: unknown }
  // OpenAI's `{"error": {...}}` (a Responses object carries `"error": null` when it succeeded).
  if (v.error !== undefined && v.error !== null && v.error !== false) return true
  // Anthropic's `{"type": "error", "error": {...}}`; a Responses object or event that failed.
  return (
    v.type === 'error' || v.type === 'response.failed' || (v.object === 'response' && v.status === 'failed')
  )
}

const JSON_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i
  }
  return -1
}
