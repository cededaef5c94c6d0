import { describe, expect, it } from 'vitest'
import { createOpenAIAdapter } from '../src/providers/openai.ts'
import type { ChatRequest, Json } from '../src/providers/types.ts'

// What the OpenAI wire sends upstream for a chat request: the client's bytes when nothing has to
// change, and in a stream the usage option the proxy needs for its accounting.

const adapter = createOpenAIAdapter({ name: 'p', wire: 'openai', base_url: 'http://127.0.0.1:9/v1' } as never)

function request(raw: string, includeUsage = false): ChatRequest {
  const body = JSON.parse(raw) as Record<string, Json>
  return { body, raw: Buffer.from(raw), stream: body.stream === true, includeUsage }
}

function sent(req: ChatRequest, options = { model: 'gpt-4o-mini', injectUsage: true }) {
  const out = adapter.dialects.chat!.request(req, options)
  return { out, body: JSON.parse(out.body.toString()) }
}

describe('the OpenAI wire: a chat request upstream', () => {
  const plain = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hé \\u00e9"}],"stream":true}'

  it('asks for the usage of a stream the client did not ask it for, keeping the client bytes', () => {
    for (const raw of [plain, `  \n${plain}`, plain.replace('{"model"', '{ "model"')]) {
      const { out, body } = sent(request(raw))
      expect(body).toEqual({ ...JSON.parse(raw), stream_options: { include_usage: true } })
      expect(out.body.toString().endsWith(raw.slice(raw.indexOf('"model"')))).toBe(true)
    }
  })

  it('keeps the client options it finds, and turns the usage on', () => {
    const raw = plain.replace('"stream":true', '"stream":true,"stream_options":{"include_usage":false,"x":1}')
    expect(sent(request(raw)).body.stream_options).toEqual({ include_usage: true, x: 1 })
  })

  it('sends the client bytes untouched when nothing has to change', () => {
    const req = request(plain, true)
    expect(sent(req).out.body).toBe(req.raw)
    const off = request(plain)
    expect(sent(off, { model: 'gpt-4o-mini', injectUsage: false }).out.body).toBe(off.raw)
    const whole = request(plain.replace('"stream":true', '"stream":false'))
    expect(sent(whole).out.body).toBe(whole.raw)
  })

  it('names the deployment model, with the usage option in a stream', () => {
    const { body } = sent(request(plain), { model: 'gpt-4o-2024', injectUsage: true })
    expect(body).toEqual({
      ...JSON.parse(plain),
      model: 'gpt-4o-2024',
      stream_options: { include_usage: true },
    })
  })
})
