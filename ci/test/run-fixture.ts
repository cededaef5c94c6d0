// A small valid summary of a passed light-tier CI run, for the gate's tests.
import { evaluateBaseline } from '../../reports/src/baseline.ts'
import type { RunSummary } from '../../reports/src/summary.ts'

export function passedRun(): RunSummary {
  return {
    schema_version: 3,
    status: 'passed',
    run: {
      id: '20260101-000000-light-native-abcd',
      tier: 'light',
      engine: 'native',
      started_at: '2026-01-01T00:00:00.000Z',
      ended_at: '2026-01-01T00:00:45.000Z',
      duration_s: 45,
      duration_scale: 0.15,
      seed: 42,
      target_url: 'http://127.0.0.1:9000',
      mock_profile: 'baseline',
      load_model: 'open',
      command: 'npm run load:ci',
    },
    environment: {
      node_version: 'v24.21.0',
      os: 'Linux',
      cpu_model: 'test cpu',
      cpu_count: 2,
      total_memory_mb: 1024,
      git_commit: null,
    },
    tier: {
      name: 'light',
      users: 30,
      duration_s: 45,
      ramp_up_s: 4.5,
      expected_rps: 5,
      latency_target: { percentile: 95, max_ms: 200 },
      error_rate_max: 0.01,
      scenarios: [{ name: 'chat', weight: 1 }],
    },
    totals: { requests: 200, errors: 0, error_rate: 0, rps: 4.44 },
    scenarios: [{ name: 'chat', weight: 1, requests: 200, errors: 0, error_rate: 0, rps: 4.44 }],
    baselines: [
      evaluateBaseline(
        { name: 'p95', metric: 'latency_p95_ms', comparator: '<', threshold: 200, unit: 'ms' },
        12.3,
      ),
      evaluateBaseline(
        { name: 'errors', metric: 'error_rate', comparator: '<', threshold: 0.01, unit: 'ratio' },
        0,
      ),
      evaluateBaseline(
        { name: 'rps', metric: 'rps_after_ramp_up', comparator: '>=', threshold: 4.5, unit: 'rps' },
        5,
      ),
    ],
    errors_by_kind: {},
  }
}
