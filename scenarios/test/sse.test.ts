import { afterEach, describe, expect, it } from 'vitest'
import { runNative } from '../engines/native.ts'
import { SseMeter } from '../engines/sse.ts'
import { contentChunk, plan, scriptedSseServer, type TestServer } from './servers.ts'

const ROLE = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] })}\n\n`
const USAGE = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3 } })}\n\n`
const DONE = 'data: [DONE]\n\n'

describe('SseMeter', () => {
  function meterAt(times: number[]) {
    let i = 0
    return new SseMeter(0, () => times[Math.min(i++, times.length - 1)])
  }

  it('times the first content chunk (not the role chunk) and every gap between content chunks', () => {
    const meter = meterAt([5, 40, 60, 95, 95, 96])
    meter.push(ROLE)
    meter.push(contentChunk('Hello'))
    meter.push(contentChunk(' wor'))
    meter.push(contentChunk('ld'))
    meter.push(USAGE)
    meter.push(DONE)
    expect(meter.finish()).toEqual({
      ttftMs: 40,
      itlMs: [20, 35],
      tokens: 3,
      truncated: false,
      kind: null,
      chunks: 3,
      malformed: false,
      errorEvent: false,
    })
  })

  const typed = (payload: Record<string, unknown>) =>
    `event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`

  it('measures an Anthropic Messages stream: text deltas, output tokens, complete at message_stop', () => {
    const meter = meterAt([10, 30, 50, 51, 52])
    meter.push(
      typed({
        type: 'message_start',
        message: { id: 'msg_1', usage: { input_tokens: 5, output_tokens: 1 } },
      }),
    )
    meter.push(typed({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }))
    meter.push(typed({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } }))
    meter.push(
      typed({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }),
    )
    meter.push(typed({ type: 'message_stop' }))
    expect(meter.finish()).toMatchObject({
      ttftMs: 30,
      itlMs: [20],
      tokens: 2,
      truncated: false,
      kind: null,
      chunks: 2,
    })
  })

  it('measures an OpenAI Responses stream: output_text deltas, usage of response.completed', () => {
    const meter = meterAt([10, 25, 45, 46])
    meter.push(typed({ type: 'response.created', response: { id: 'resp_1' } }))
    meter.push(typed({ type: 'response.output_text.delta', delta: 'Hi' }))
    meter.push(typed({ type: 'response.output_text.delta', delta: ' there' }))
    meter.push(typed({ type: 'response.completed', response: { usage: { output_tokens: 2 } } }))
    expect(meter.finish()).toMatchObject({ ttftMs: 25, itlMs: [20], tokens: 2, truncated: false, kind: null })
  })

  it('calls a typed stream that stops before its end event truncated, and its error event an error', () => {
    const cut = meterAt([1, 2])
    cut.push(typed({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a' } }))
    expect(cut.finish()).toMatchObject({ truncated: true, kind: 'truncated_stream' })
    const failed = meterAt([1, 2, 3])
    failed.push(typed({ type: 'response.output_text.delta', delta: 'a' }))
    failed.push(typed({ type: 'error', code: 'upstream_error', message: 'x' }))
    expect(failed.finish()).toMatchObject({ truncated: true, kind: 'stream_error', errorEvent: true })
    const responseFailed = meterAt([1, 2, 3])
    responseFailed.push(typed({ type: 'response.output_text.delta', delta: 'a' }))
    responseFailed.push(typed({ type: 'response.failed', response: { status: 'failed' } }))
    expect(responseFailed.finish()).toMatchObject({ truncated: true, kind: 'stream_error', errorEvent: true })
  })

  it('parses events split anywhere across network chunks, CRLF lines and keep-alive comments', () => {
    const meter = meterAt([1, 2, 3, 4, 5, 6])
    const wire = `: ping\r\n\r\n${contentChunk('a').replaceAll('\n', '\r\n')}${contentChunk('b')}${DONE}`
    for (let i = 0; i < wire.length; i += 7) meter.push(new TextEncoder().encode(wire.slice(i, i + 7)))
    expect(meter.finish()).toMatchObject({ chunks: 2, tokens: 2, truncated: false, kind: null })
  })

  it('calls a stream without [DONE] truncated', () => {
    const meter = meterAt([10, 20])
    meter.push(contentChunk('cut'))
    expect(meter.finish()).toMatchObject({ truncated: true, kind: 'truncated_stream', ttftMs: 10 })
  })

  it('calls a stream that carries an error event truncated, even when [DONE] follows', () => {
    for (const error of [
      'event: error\ndata: {"message":"upstream failed"}\n\n',
      `data: ${JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } })}\n\n`,
    ]) {
      const meter = meterAt([1, 2, 3])
      meter.push(contentChunk('x'))
      meter.push(error)
      meter.push(DONE)
      expect(meter.finish()).toMatchObject({ truncated: true, kind: 'stream_error' })
    }
  })

  it('reports a malformed chunk as an error without calling the stream truncated', () => {
    const meter = meterAt([1, 2, 3])
    meter.push('data: {"choices": [\n\n')
    meter.push(DONE)
    expect(meter.finish()).toMatchObject({ truncated: false, kind: 'malformed_chunk' })
  })
})

describe('native engine on a scripted SSE server', () => {
  let server: TestServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  const streamPlan = (url: string) =>
    plan({ targetUrl: url, mix: [{ name: 'chat-stream', weight: 1 }], rps: 10, durationS: 1.5, users: 20 })

  it('measures TTFT, inter-token latency and tokens/s of every stream', async () => {
    server = await scriptedSseServer([
      { waitMs: 0, write: ROLE },
      { waitMs: 80, write: contentChunk('one') },
      { waitMs: 40, write: contentChunk(' two') },
      { waitMs: 40, write: contentChunk(' three') },
      { waitMs: 0, write: USAGE + DONE },
    ])
    const result = await runNative(streamPlan(server.url))
    expect(result.requests).toBeGreaterThanOrEqual(14)
    expect(result.errors).toBe(0)
    const stream = result.stream!
    expect(stream.streams).toBe(result.requests)
    expect(stream.truncated).toBe(0)
    expect(stream.ttft_ms?.p50).toBeGreaterThanOrEqual(79)
    expect(stream.ttft_ms?.p50).toBeLessThan(110)
    expect(stream.itl_ms?.p50).toBeGreaterThanOrEqual(35)
    expect(stream.itl_ms?.p50).toBeLessThan(60)
    // 3 tokens in about 80 ms after the first: (3 - 1) / 0.08 s = 25 tokens/s
    expect(stream.tokens_per_s).toBeGreaterThan(18)
    expect(stream.tokens_per_s).toBeLessThan(27)
    expect(result.ticks.some((t) => t.ttft_p50_ms !== undefined && t.ttft_p50_ms !== null)).toBe(true)
  })

  it('counts streams cut before [DONE] as truncated and as errors', async () => {
    server = await scriptedSseServer(
      [
        { waitMs: 0, write: ROLE },
        { waitMs: 20, write: contentChunk('half an') },
        { waitMs: 20, write: contentChunk(' answer') },
      ],
      { destroyAtEnd: true },
    )
    const result = await runNative(streamPlan(server.url))
    expect(result.requests).toBeGreaterThanOrEqual(14)
    expect(result.errors).toBe(result.requests)
    expect(result.stream).toMatchObject({ truncated: result.requests, truncated_rate: 1 })
    expect(Object.keys(result.errorsByKind)).toEqual(
      expect.arrayContaining([expect.stringMatching(/truncated_stream|reset/)]),
    )
  })

  it('counts a stream ended cleanly without [DONE] as truncated_stream', async () => {
    server = await scriptedSseServer([{ waitMs: 10, write: contentChunk('no end marker') }])
    const result = await runNative(streamPlan(server.url))
    expect(result.errorsByKind).toEqual({ truncated_stream: result.requests })
    expect(result.stream?.truncated).toBe(result.requests)
  })
})
