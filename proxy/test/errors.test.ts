import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERRORS, ProxyError } from '../src/errors.ts'
import { UpstreamFailure } from '../src/resilience/failure.ts'
import { toClientError } from '../src/resilience/map-error.ts'

describe('error catalogue', () => {
  it('documents every code in proxy/ERRORS.md with its status', () => {
    const rows = readFileSync('proxy/ERRORS.md', 'utf8')
      .split('\n')
      .filter((line) => /^\|\s*`/.test(line))
      .map((line) => line.split('|').map((cell) => cell.trim()))
    const documented = Object.fromEntries(
      rows.map((cells) => [cells[1].replaceAll('`', ''), [Number(cells[2]), cells[3]]]),
    )
    const expected = Object.fromEntries(
      Object.entries(ERRORS).map(([code, spec]) => [code, [spec.status, spec.type]]),
    )
    expect(documented).toEqual(expected)
  })

  it('serializes in the OpenAI error shape', () => {
    const err = new ProxyError('invalid_request', { param: 'messages', message: 'bad' })
    expect(err.toJSON()).toEqual({
      error: { message: 'bad', type: 'invalid_request_error', code: 'invalid_request', param: 'messages' },
    })
  })
})

describe('upstream failures as client errors', () => {
  const failure = (
    kind: ConstructorParameters<typeof UpstreamFailure>[0],
    extra: Record<string, unknown> = {},
  ) => new UpstreamFailure(kind, { message: 'x', retryable: true, countsAsFailure: true, ...extra })

  it.each([
    ['timeout', {}, 504, 'upstream_timeout'],
    ['connect', {}, 502, 'upstream_connect_failed'],
    ['reset', {}, 502, 'upstream_connection_reset'],
    ['stream_cut', {}, 502, 'stream_truncated'],
    ['bad_response', {}, 502, 'upstream_bad_response'],
    ['breaker_open', { retryAfterMs: 1200 }, 503, 'all_providers_unavailable'],
    ['status', { status: 500 }, 502, 'upstream_error'],
    ['status', { status: 502 }, 502, 'upstream_error'],
    ['status', { status: 503 }, 503, 'upstream_unavailable'],
    ['status', { status: 529 }, 503, 'upstream_unavailable'],
    ['status', { status: 504 }, 504, 'upstream_timeout'],
    ['status', { status: 429, retryAfterMs: 2000 }, 429, 'rate_limit_exceeded'],
    ['status', { status: 401 }, 502, 'upstream_auth_failed'],
    ['status', { status: 422 }, 422, 'upstream_client_error'],
  ] as const)('%s %o -> %i %s', (kind, extra, status, code) => {
    const err = toClientError(failure(kind, extra))
    expect(err.status).toBe(status)
    expect(err.code).toBe(code)
    expect(err.cause).toBeInstanceOf(UpstreamFailure)
  })

  it('passes Retry-After on, rounded up to whole seconds', () => {
    expect(toClientError(failure('status', { status: 429, retryAfterMs: 1200 })).headers).toEqual({
      'retry-after': '2',
    })
    expect(toClientError(failure('breaker_open', { retryAfterMs: 30_000 })).headers).toEqual({
      'retry-after': '30',
    })
  })

  it('keeps the code of a context length error', () => {
    const err = toClientError(
      failure('status', {
        status: 400,
        providerError: {
          message: 'too long',
          type: 'invalid_request_error',
          code: 'context_length_exceeded',
          param: 'messages',
        },
      }),
    )
    expect(err.toJSON().error).toEqual({
      message: 'too long',
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
      param: 'messages',
    })
  })
})
