// Summaries carrying markup in every free-text field: a report must show it as text, never run it.
import type { RunSummary } from '../src/summary.ts'
import { streamingSummary } from './fixtures.ts'

/** Markup a summary could carry in any free-text field; a report must show it as text. */
export const INJECTED = {
  name: '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">',
  kind: '<svg onload="window.__pwned = 3">',
  text: '"><b onmouseover="window.__pwned = 4">bold</b><!--',
}

/** The streaming fixture with hostile strings in every field that is free text. */
export function hostileSummary(): RunSummary {
  const s = streamingSummary()
  const { name, kind, text } = INJECTED
  s.status_reason = text
  s.run.id = text
  s.run.tier = name
  s.run.target_url = 'http://127.0.0.1:8000/?q="><script>window.__pwned=5</script>'
  s.run.mock_profile = name
  s.run.command = `npm run load:medium -- --target '${text}'`
  s.environment.cpu_model = name
  s.environment.generator_notes = [name]
  s.tier.name = name
  s.tier.scenarios[0].name = name
  s.scenarios[0].name = name
  s.baselines[0].name = name
  s.baselines[0].metric = text
  s.errors_by_kind = { [kind]: 3, [name]: 2 }
  s.proxy_metrics!.samples = s.proxy_metrics!.samples.map((sample) => ({
    ...sample,
    breakers: { [name]: 'open' },
  }))
  s.proxy_metrics!.source = text
  s.regression = {
    reference: { name, run_id: text },
    method: name,
    verdicts: [
      {
        metric: kind,
        baseline: 1,
        current: 1,
        change: 0,
        interval: { low: -0.1, high: 0.1, confidence: 0.95 },
        verdict: 'unchanged',
      },
    ],
  }
  return s
}
