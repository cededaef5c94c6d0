import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import type { ProfileInput } from '../../mock-providers/src/profile-schema.ts'
import { chatBody, type Harness, postChat, startAll } from './helpers.ts'

const healthy: ProfileInput = { latency: { ttft: 0, itl: 0 } }
const failing: ProfileInput = { ...healthy, faults: [{ type: 'status', status: 500, rate: 1 }] }

describe('a provider whose breaker closed after it recovered', () => {
  let h: Harness
  afterEach(() => h?.close())

  it('is retried on its next 500 and answered 502, not shut again at once with 503', async () => {
    h = await startAll({
      profile: healthy,
      overrides: {
        http_client: { retry_attempts: 1 },
        circuit_breaker: { failure_threshold: 5, recovery_timeout: 0.2, half_open_max_calls: 2 },
        performance: { circuit_breaker: { recovery_success_threshold: 1, failure_rate_window: 60 } },
      },
      deps: { random: () => 0 },
    })
    const breaker = h.app.registry.providers.get('openai-a')!.breaker
    h.mocks.openai.setProfile(failing)
    while (breaker.state !== 'open') await postChat(h.url, chatBody())
    h.mocks.openai.setProfile(healthy)
    if (breaker.state === 'open') await once(breaker, 'state')
    for (let i = 0; i < 2; i++) expect((await postChat(h.url, chatBody())).status).toBe(200)
    expect(breaker.state).toBe('closed')

    h.mocks.openai.setProfile(failing)
    const seenBefore = h.mocks.openai.stats().requests.total
    const res = await postChat(h.url, chatBody())
    expect(res.status).toBe(502)
    expect(h.mocks.openai.stats().requests.total - seenBefore).toBe(2) // the call and its retry
    expect(breaker.state).toBe('closed')
  })
})
