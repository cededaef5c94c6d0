import type { ProviderConfig } from './schema.ts'

/** What a masked secret reads as (the same word `redactSecrets` writes). */
const MASK = '[redacted]'

/**
 * Text that looks like a key: `sk-...`, `pk_...`, `key-...`, `token_...`. A guess by shape, kept
 * for keys the proxy was never given (a provider quoting another of its keys).
 */
const KEY_SHAPE = /\b(sk|pk|rk|key|token)[-_][A-Za-z0-9_*-]{4,}/gi

/** Secrets shorter than this are not searched for: masking every "abc" would garble messages. */
export const MIN_SECRET_LENGTH = 8

/**
 * Masks secrets in text that came from outside: a provider's error message that quotes the key it
 * refused (OpenAI does: "Incorrect API key provided: sk-...") reaches logs, /metrics, the public
 * health endpoints and clients' error bodies. The secrets are masked by their values, whatever
 * their shape (a Google `AIza...` key, an Azure key of 32 hex digits, a JWT), and anything shaped
 * like a key besides.
 */
export class SecretMask {
  readonly #secrets: readonly string[]

  constructor(secrets: Iterable<string>) {
    const kept = new Set<string>()
    for (const s of secrets) if (s.length >= MIN_SECRET_LENGTH) kept.add(s)
    // Longest first: a secret that contains another is masked whole.
    this.#secrets = [...kept].sort((a, b) => b.length - a.length)
  }

  mask(text: string): string {
    let out = text
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(MASK)
    return out.replace(KEY_SHAPE, MASK)
  }
}

/**
 * A provider's credentials: its API key, the values of its custom headers (Azure's `api-key`, a
 * gateway's token) and of its base URL's user info and query (a key passed as `?key=`), and the
 * value after `Bearer ` in any of them.
 */
export function providerSecrets(
  provider: Pick<ProviderConfig, 'api_key' | 'headers' | 'base_url'>,
): string[] {
  const out: string[] = []
  if (provider.api_key) out.push(provider.api_key)
  for (const value of Object.values(provider.headers ?? {})) {
    out.push(value)
    const bearer = /^\s*bearer\s+(.+)$/i.exec(value)
    if (bearer) out.push(bearer[1].trim())
  }
  try {
    const url = new URL(provider.base_url)
    if (url.username) out.push(decodeURIComponent(url.username))
    if (url.password) out.push(decodeURIComponent(url.password))
    for (const value of url.searchParams.values()) out.push(value)
  } catch {
    // The schema checked the URL; nothing to add from one it could not read.
  }
  return out
}
