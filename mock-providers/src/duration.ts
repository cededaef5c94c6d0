import ms from 'ms'

/** A duration as written in profiles: a number of milliseconds or a string such as '20ms', '1.5s', '2m'. */
export function toMilliseconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const parsed = ms(value.trim() as ms.StringValue) as number | undefined
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined
}
