// The small JSON calls a chaos run makes on the side (control APIs, probes): one request with a
// deadline, the answer's status and parsed body (the raw text when it is not JSON).
import { request } from 'undici'

export type JsonAnswer = { readonly status: number; readonly body: unknown }

export async function requestJson(
  url: string,
  options: { method?: 'GET' | 'PUT' | 'POST' | 'DELETE'; body?: unknown; timeoutMs?: number } = {},
): Promise<JsonAnswer> {
  const timeout = options.timeoutMs ?? 5000
  const res = await request(url, {
    method: options.method ?? 'GET',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    headers: options.body === undefined ? undefined : { 'content-type': 'application/json' },
    headersTimeout: timeout,
    bodyTimeout: timeout,
  })
  const text = await res.body.text()
  try {
    return { status: res.statusCode, body: JSON.parse(text) }
  } catch {
    return { status: res.statusCode, body: text }
  }
}

/** The body of a 2xx answer; anything else throws with the status and what was answered. */
export async function callJson(
  url: string,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' = 'GET',
  body?: unknown,
): Promise<unknown> {
  const answer = await requestJson(url, { method, body })
  if (answer.status < 200 || answer.status >= 300)
    throw new Error(`${method} ${url}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body
}
