const SECRET_KEY =
  /(^|[_-])(api[_-]?keys?|admin_keys|password|pass|secret|token|routing_key|integration_key|webhook_url|authorization)$/i
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*@)/i

export const REDACTED = '[redacted]'

/** A deep copy with every secret replaced, fit for printing, logs and reports. */
export function redactSecrets(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    return SECRET_KEY.test(key) ? value.map(() => REDACTED) : value.map((v) => redactSecrets(v))
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = redactSecrets(v, k)
    return out
  }
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key)) return REDACTED
    return value.replace(URL_CREDENTIALS, `$1${REDACTED}@`)
  }
  return value
}
