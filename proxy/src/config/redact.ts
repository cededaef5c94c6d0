const SECRET_KEY =
  /(^|[_-])(api[_-]?keys?|admin_keys|password|pass|secret|token|routing_key|integration_key|webhook_url|authorization|cookie)$/i
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*@)/i
const URL_QUERY = /^([a-z][a-z0-9+.-]*:\/\/[^?#]*\?)(.*)$/i

export const REDACTED = '[redacted]'

/**
 * A deep copy with every secret replaced, fit for printing, logs and reports, at any depth:
 * values under secret-sounding keys; every value of a `headers` map (custom provider or webhook
 * headers carry subscription keys and tokens); the URL of an alert channel (a Slack or webhook URL
 * is its credential); and in any URL, the user and password and the query values.
 */
export function redactSecrets(value: unknown, path: readonly string[] = []): unknown {
  if (Array.isArray(value)) {
    return isSecret(path)
      ? value.map(() => REDACTED)
      : value.map((v, i) => redactSecrets(v, [...path, String(i)]))
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = redactSecrets(v, [...path, k])
    return out
  }
  if (typeof value === 'string') {
    if (isSecret(path)) return REDACTED
    return redactUrl(value)
  }
  return value
}

function isSecret(path: readonly string[]): boolean {
  const key = path.at(-1) ?? ''
  if (SECRET_KEY.test(key)) return true
  if (path.at(-2) === 'headers') return true
  return key === 'url' && path.includes('channels')
}

/** A URL with its credentials and query values masked; any other string unchanged. */
export function redactUrl(text: string): string {
  const masked = text.replace(URL_CREDENTIALS, `$1${REDACTED}@`)
  const query = URL_QUERY.exec(masked)
  if (!query) return masked
  const params = query[2].replace(/=([^&#]*)/g, `=${REDACTED}`)
  return `${query[1]}${params}`
}
