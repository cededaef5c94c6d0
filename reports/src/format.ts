// Deterministic number and time formatting (no locale, no clock): the same summary renders the same bytes.

const MINUS = '\u2212'
const NBSP = '\u00a0'

export function formatInt(value: number): string {
  const sign = value < 0 ? MINUS : ''
  return (
    sign +
    Math.round(Math.abs(value))
      .toString()
      .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  )
}

/** A number with precision that follows its size: 0.042, 4.21, 42.1, 421, 4,210. */
export function formatNumber(value: number): string {
  const abs = Math.abs(value)
  if (abs >= 1000) return formatInt(value)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  const text = Math.abs(value).toFixed(digits)
  const trimmed = digits > 0 ? text.replace(/\.?0+$/, '') : text
  return (value < 0 && Number(trimmed) !== 0 ? MINUS : '') + trimmed
}

export function formatMs(value: number | null | undefined): string {
  if (value === null || value === undefined) return '\u2014'
  if (value >= 10_000) return `${formatNumber(value / 1000)}${NBSP}s`
  return `${formatNumber(value)}${NBSP}ms`
}

/** A fraction as a percentage: 0.0042 -> "0.42 %". */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined) return '\u2014'
  const pct = fraction * 100
  const digits = pct === 0 || pct >= 10 ? 1 : 2
  return `${pct.toFixed(digits)}${NBSP}%`
}

/**
 * A regression verdict's change as plain text: relative (+0.24 -> "+24.0 %"), or in percentage points
 * for a rate (+0.0062 -> "+0.62 pp").
 */
export function changeText(value: number, unit: 'relative' | 'points' = 'relative'): string {
  const sign = value >= 0 ? '+' : ''
  return unit === 'points' ? `${sign}${(value * 100).toFixed(2)} pp` : `${sign}${(value * 100).toFixed(1)} %`
}

/** A signed fraction: +0.24 -> "+24.0 %", -0.2 -> "-20.0 %". */
export function formatMargin(fraction: number | null): string {
  if (fraction === null) return '\u2014'
  const pct = (fraction * 100).toFixed(1)
  if (Number(pct) === 0) return `0.0${NBSP}%`
  return `${fraction > 0 ? '+' : MINUS}${pct.replace('-', '')}${NBSP}%`
}

export function formatRate(value: number | null | undefined, unit = '/s'): string {
  if (value === null || value === undefined) return '\u2014'
  return `${formatNumber(value)}${NBSP}${unit}`
}

/** Seconds as "45 s", "5 min", "1 min 30 s", "1 h 5 min". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.round(totalSeconds)
  if (s < 60) return `${formatNumber(totalSeconds)}${NBSP}s`
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = s % 60
  const parts = []
  if (h) parts.push(`${h}${NBSP}h`)
  if (m) parts.push(`${m}${NBSP}min`)
  if (rest && !h) parts.push(`${rest}${NBSP}s`)
  return parts.join(' ')
}

/** An ISO time as "2026-05-04 13:02:11 UTC" (always UTC, so reports do not depend on the viewer). */
export function formatTimestamp(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** A baseline or metric value by its unit. */
export function formatValue(value: number | null, unit: string | undefined): string {
  if (value === null) return 'not measured'
  switch (unit) {
    case 'ms':
      return formatMs(value)
    case 'ratio':
      return formatPercent(value)
    case 'rps':
      return formatRate(value, 'req/s')
    case 'tokens_per_s':
      return formatRate(value, 'tok/s')
    case 'mb':
      return `${formatNumber(value)}${NBSP}MB`
    case 'count':
      return formatInt(value)
    default:
      return formatNumber(value)
  }
}
