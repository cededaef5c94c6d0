import { describe, expect, it } from 'vitest'
import { providerSecrets, SecretMask } from '../src/config/secret-mask.ts'

describe('SecretMask', () => {
  it('masks secrets by their values, whatever their shape, and key-shaped text besides', () => {
    const mask = new SecretMask(['AIzaSyFAKEsecret0123456789', '0123456789abcdef0123456789abcdef'])
    expect(mask.mask('key AIzaSyFAKEsecret0123456789 refused, twice: AIzaSyFAKEsecret0123456789')).toBe(
      'key [redacted] refused, twice: [redacted]',
    )
    expect(mask.mask('azure key 0123456789abcdef0123456789abcdef is invalid')).toBe(
      'azure key [redacted] is invalid',
    )
    expect(mask.mask('Incorrect API key provided: sk-proj-abcd1234')).toBe(
      'Incorrect API key provided: [redacted]',
    )
    expect(mask.mask('The model `gpt-4o` does not exist')).toBe('The model `gpt-4o` does not exist')
  })

  it('masks a secret that contains another whole, and leaves short values alone', () => {
    const mask = new SecretMask(['secretvalue', 'secretvalue-and-more', 'abc'])
    expect(mask.mask('got secretvalue-and-more and abc')).toBe('got [redacted] and abc')
  })
})

describe('providerSecrets', () => {
  it("reads a provider's key, its headers' values (a bearer token alone too) and its URL's credentials", () => {
    const secrets = providerSecrets({
      api_key: 'provider-key-1',
      headers: { 'api-key': 'azure-header-key', authorization: 'Bearer gateway-token-9' },
      base_url: 'https://user:pass%40word@example.test/v1?key=query-key-7',
    })
    expect(secrets).toEqual(
      expect.arrayContaining([
        'provider-key-1',
        'azure-header-key',
        'Bearer gateway-token-9',
        'gateway-token-9',
        'pass@word',
        'query-key-7',
      ]),
    )
  })
})
