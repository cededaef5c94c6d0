import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_KEY, type Harness, startAll } from './helpers.ts'

// The APIs beside chat completions, as the official SDKs use them through the proxy, against
// both wire kinds of provider.

describe('POST /v1/embeddings', () => {
  let h: Harness
  let client: OpenAI

  beforeAll(async () => {
    h = await startAll({
      overrides: {
        caching: { enabled: true },
        models: {
          'text-embedding-3-small': { deployments: [{ provider: 'openai-a' }] },
          'embed-fallback': {
            deployments: [
              { provider: 'anthropic-a', model: 'claude-3-5-haiku-latest' },
              { provider: 'openai-a', model: 'text-embedding-3-small' },
            ],
          },
        },
      },
    })
    client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${h.url}/v1`, maxRetries: 0 })
  })
  afterAll(() => h.close())

  it('answers embeddings.create with vectors and usage, and the same input again from the cache', async () => {
    const first = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'hello' })
      .withResponse()
    expect(first.data.data[0].embedding.length).toBe(1536)
    expect(first.data.usage.prompt_tokens).toBeGreaterThan(0)
    expect(first.response.headers.get('x-cache')).toBe('MISS')
    const again = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'hello' })
      .withResponse()
    expect(again.response.headers.get('x-cache')).toBe('HIT')
    expect(again.data.data[0].embedding).toEqual(first.data.data[0].embedding)
    const batch = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b', 'c'] })
    expect(batch.data.map((d) => d.index)).toEqual([0, 1, 2])
  })

  it('skips deployments whose provider serves no embeddings, and refuses a model none of whose do', async () => {
    const served = await client.embeddings.create({ model: 'embed-fallback', input: 'x' }).withResponse()
    expect(served.response.headers.get('x-proxy-provider')).toBe('openai-a')
    const refused = await client.embeddings
      .create({ model: 'claude-3-5-haiku-latest', input: 'x' })
      .catch((e) => e)
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
    expect(refused.error).toMatchObject({ code: 'invalid_request', param: 'model' })
    const bad = await client.embeddings.create({ model: 'text-embedding-3-small', input: [] }).catch((e) => e)
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError)
    expect(bad.error.param).toBe('input')
  })
})
