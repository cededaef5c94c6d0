/** Helpers shared by the wires' request validators. */

export type JsonObject = Record<string, unknown>

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** 'a string', 'an integer', 'an array', ... as the providers word type errors. */
export function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'boolean') return 'a boolean'
  return `a ${typeof value}`
}

/** Parses a body that must be a JSON object; undefined when it is not JSON at all. */
export function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) }
  } catch {
    return { ok: false }
  }
}

export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1
}

/** The text of a message content: a string, or the text of its text parts/blocks. */
export function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return null
  let text = ''
  for (const part of content) {
    if (!isObject(part)) return null
    if (typeof part.text === 'string') text += part.text
  }
  return text
}

export function queryParam(query: string, name: string): string | null {
  if (query === '') return null
  return new URLSearchParams(query).get(name)
}
