// What the mock providers a run booted answer like, so that every report says what it measured. The
// seed tiers run against `baseline`: about 2 ms to the first token and no gap between tokens. That is
// a fair test of the proxy's own latency, and nothing like a real model (hundreds of ms to seconds to
// the first token, tens of ms between tokens): a reader must not take one for the other.
import { loadProfile } from '../../mock-providers/src/profile-load.ts'
import type { Latency } from '../../mock-providers/src/profile-schema.ts'
import { mockLatencyText } from '../../reports/src/notices.ts'
import type { RunSummary } from '../../reports/src/summary.ts'

export type MockLatency = NonNullable<RunSummary['run']['mock_latency']>

type Distribution = Latency['ttft']

/** The typical value of a latency distribution of a profile, ms (its median, or its fixed value). */
function typicalMs(d: Distribution): number {
  switch (d.dist) {
    case 'fixed':
      return d.value ?? 0
    case 'uniform':
      return ((d.min ?? 0) + (d.max ?? 0)) / 2
    case 'normal':
      return d.mean ?? 0
    case 'lognormal':
      return d.median ?? 0
  }
}

/** The profile's typical time to first token and between tokens; null when it cannot be read. */
export function mockLatencyOf(profile: string): MockLatency | null {
  try {
    const loaded = loadProfile(profile)
    return {
      ttft_ms: typicalMs(loaded.latency.ttft),
      itl_ms: typicalMs(loaded.latency.itl),
      ...(loaded.description ? { description: loaded.description } : {}),
    }
  } catch {
    return null
  }
}

/** One sentence a reader cannot misread: what the latencies of this run are made of. */
export function mockLatencyNote(latency: MockLatency, profile: string | null): string {
  const text = mockLatencyText(latency, profile)
  return `${text.headline} ${text.body}`
}
