import { afterEach, describe, expect, it } from 'vitest'
import { answerFailure, isErrorObject } from '../engines/answer.ts'
import { runEngine } from '../engines/engine-process.ts'
import type { EngineName } from '../engines/plan.ts'
import { SseMeter } from '../engines/sse.ts'
import { listen, plan, scriptedSseServer, type TestServer } from './servers.ts'

// A gateway can fail under a 200 status. A run against one that answers every request with an
// error object, an empty body or only a stream's end marker must fail, not pass with 0 errors.

const JSON_TYPE = 'application/json'
const ERROR_BODY = JSON.stringify({
  error: { message: 'upstream failed', type: 'server_error', param: null, code: 'upstream_error' },
})

describe('answerFailure', () => {
  it('passes real answers, a Responses object with "error": null among them', () => {
    expect(answerFailure(200, JSON_TYPE, '{"object":"chat.completion","choices":[]}')).toBeNull()
    expect(
      answerFailure(200, JSON_TYPE, '{"object":"response","status":"completed","error":null}'),
    ).toBeNull()
    expect(answerFailure(200, 'application/json; charset=utf-8', '[1,2]')).toBeNull()
    expect(answerFailure(200, 'text/plain; version=0.0.4', 'proxy_requests_total 1\n')).toBeNull()
    expect(answerFailure(204, undefined, '')).toBeNull()
  })

  it('names the failures a 200 hides', () => {
    expect(answerFailure(200, JSON_TYPE, ERROR_BODY)).toBe('error_answer')
    expect(answerFailure(200, JSON_TYPE, '{"type":"error","error":{"type":"overloaded_error"}}')).toBe(
      'error_answer',
    )
    expect(
      answerFailure(200, JSON_TYPE, '{"object":"response","status":"failed","error":{"code":"x"}}'),
    ).toBe('error_answer')
    expect(answerFailure(200, JSON_TYPE, '')).toBe('empty_answer')
    expect(answerFailure(200, 'text/plain', ' \n')).toBe('empty_answer')
    expect(answerFailure(200, JSON_TYPE, '{"object":"chat.completion","choi')).toBe('malformed_answer')
    // Without a content type, a body that opens as JSON is read as JSON.
    expect(answerFailure(200, undefined, '{"object":')).toBe('malformed_answer')
  })

  it('reads an error object on every wire, and nothing else as one', () => {
    expect(isErrorObject({ error: { code: 'x' } })).toBe(true)
    expect(isErrorObject({ type: 'response.failed' })).toBe(true)
    expect(isErrorObject({ error: null, object: 'response', status: 'completed' })).toBe(false)
    expect(isErrorObject([{ error: 1 }])).toBe(false)
    expect(isErrorObject('error')).toBe(false)
  })
})

describe('SseMeter', () => {
  it('counts a stream that ends properly without any content as empty_stream', () => {
    const meter = new SseMeter(0, () => 1)
    meter.push('data: [DONE]\n\n')
    expect(meter.finish()).toMatchObject({ kind: 'empty_stream', truncated: false, chunks: 0 })
  })

  it("counts a tool call's arguments as content: a stream that only calls a tool answered", () => {
    const meter = new SseMeter(0, () => 5)
    const call = { index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }
    meter.push(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [call] } }] })}\n\n`)
    meter.push('data: [DONE]\n\n')
    expect(meter.finish()).toMatchObject({ kind: null, chunks: 1, ttftMs: 5 })
  })
})

describe.each<EngineName>(['native', 'autocannon'])(
  '%s engine against a gateway failing under 200',
  (engine) => {
    let server: TestServer | undefined
    afterEach(async () => {
      await server?.close()
      server = undefined
    })

    const run = (url: string, mix: 'chat' | 'chat-stream') =>
      runEngine(
        plan({ engine, targetUrl: url, mix: [{ name: mix, weight: 1 }], rps: 20, durationS: 1, users: 5 }),
      )

    it('counts error objects and empty bodies as errors', async () => {
      let n = 0
      server = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': JSON_TYPE })
        res.end(n++ % 2 === 0 ? ERROR_BODY : '')
      })
      const result = await run(server.url, 'chat')
      expect(result.requests).toBeGreaterThanOrEqual(10)
      expect(result.errors).toBe(result.requests)
      expect(Object.keys(result.errorsByKind).sort()).toEqual(['empty_answer', 'error_answer'])
    })

    it('counts a stream of nothing but its end marker as an error', async () => {
      server = await scriptedSseServer([{ waitMs: 0, write: 'data: [DONE]\n\n' }])
      const result = await run(server.url, 'chat-stream')
      expect(result.requests).toBeGreaterThanOrEqual(10)
      expect(result.errorsByKind).toEqual({ empty_stream: result.requests })
    })
  },
)
