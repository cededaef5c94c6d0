import type { Random } from '../clock.ts'

/**
 * Full-jitter exponential backoff (AWS architecture blog): a uniform draw in
 * [0, min(cap, factor * 2^retry)), in milliseconds. `retry` counts from 0.
 */
export function backoffMs(retry: number, factorSeconds: number, capSeconds: number, random: Random): number {
  const ceiling = Math.min(capSeconds, factorSeconds * 2 ** retry) * 1000
  return Math.floor(random() * ceiling)
}

/**
 * The wait a provider asked for, in milliseconds: `retry-after-ms` (OpenAI) first, then
 * `retry-after` as seconds or as an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  now: number,
): number | undefined {
  const ms = first(headers['retry-after-ms'])
  if (ms !== undefined) {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value)
  }
  const after = first(headers['retry-after'])
  if (after === undefined) return undefined
  if (/^\s*\d+(\.\d+)?\s*$/.test(after)) return Math.ceil(Number(after) * 1000)
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
