// Before a run: wait for the target's health, and find scenarios whose endpoint it does not have.
import { request } from 'undici'
import { SCENARIOS } from '../catalog.ts'
import { buildCorpus } from '../corpus.ts'
import type { Skipped } from '../mixed.ts'
import type { ScenarioName, WeightedScenario } from '../scenario.ts'

export async function waitForHealth(
  targetUrl: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    signal?.throwIfAborted()
    try {
      const res = await request(`${targetUrl}/health`, { headersTimeout: 2000, bodyTimeout: 2000, signal })
      await res.body.dump()
      if (res.statusCode === 200) return
      last = `HTTP ${res.statusCode}`
    } catch (error) {
      if (signal?.aborted) throw error
      last = (error as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${targetUrl}/health did not answer 200 within ${timeoutMs} ms (last: ${last})`)
}

/** The scenarios whose endpoint an older or other gateway may not have. */
const MAYBE_MISSING: ReadonlySet<ScenarioName> = new Set(['condense', 'embeddings', 'messages', 'responses'])

/**
 * Sends one request per scenario that may be missing on the target (MAYBE_MISSING) and returns those
 * answered 404 or 405, with the reason the summary will show. Other statuses run normally: a 500 or a
 * 401 is a finding, not a missing endpoint.
 */

export async function probeScenarios(
  targetUrl: string,
  apiKey: string | null,
  mix: readonly WeightedScenario[],
): Promise<Map<ScenarioName, string>> {
  const skipped = new Map<ScenarioName, string>()
  const prompt = buildCorpus({ size: 1, zipfExponent: 1, models: ['gpt-4o-mini'], seed: 1 })[0]
  for (const { name, weight } of mix) {
    if (!MAYBE_MISSING.has(name) || weight <= 0) continue
    const scenario = SCENARIOS[name]
    const res = await request(`${targetUrl}${scenario.path}`, {
      method: scenario.method,
      headers: {
        'content-type': 'application/json',
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: scenario.body?.(prompt),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    })
    await res.body.dump()
    if (res.statusCode === 404 || res.statusCode === 405) {
      skipped.set(
        name,
        `${scenario.method} ${scenario.path} answered ${res.statusCode}: the target does not implement it yet; its weight went to the other scenarios`,
      )
    }
  }
  return skipped satisfies Skipped
}
