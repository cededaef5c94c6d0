// Realistic run summaries for tests and demos, built from a seeded random source so every call gives
// the same summary. Latencies follow a log-normal shape, as measured latencies of an LLM proxy do.
import type { RunSummary } from '../src/summary.ts'
import {
  environment,
  histogram,
  logNormal,
  proxySamples,
  round,
  seedBaselines,
  series,
  stream,
} from './fixture-kit.ts'

/** The light tier, closed model, autocannon: every baseline holds. */
export function passedSummary(): RunSummary {
  const tier: RunSummary['tier'] = {
    name: 'light',
    users: 30,
    duration_s: 300,
    ramp_up_s: 30,
    expected_rps: 5,
    latency_target: { percentile: 95, max_ms: 200 },
    error_rate_max: 0.01,
    think_time_s: { min: 3, max: 7 },
    scenarios: [
      { name: 'chat', weight: 6 },
      { name: 'models', weight: 2 },
      { name: 'condense', weight: 2 },
    ],
  }
  const latency = logNormal(112, 0.18)
  const requests = 1680
  const errors = 5
  const rps = round(requests / 300, 2)
  return {
    schema_version: 3,
    status: 'passed',
    run: {
      id: '20260504-130211-light-a1b2',
      tier: 'light',
      engine: 'autocannon',
      engine_version: '9.0.0',
      started_at: '2026-05-04T13:02:11.000Z',
      ended_at: '2026-05-04T13:07:12.400Z',
      duration_s: 301.4,
      duration_scale: 1,
      seed: 42,
      target_url: 'http://127.0.0.1:41233',
      mock_profile: 'baseline',
      load_model: 'closed',
      command: 'npm run load:light -- --engine autocannon --seed 42',
    },
    environment: environment(),
    tier,
    totals: { requests, errors, error_rate: round(errors / requests, 4), rps, latency_ms: latency },
    scenarios: [
      {
        name: 'chat',
        weight: 6,
        requests: 1262,
        errors: 5,
        error_rate: 0.004,
        rps: 4.21,
        latency_ms: logNormal(121, 0.15),
      },
      {
        name: 'models',
        weight: 2,
        requests: 418,
        errors: 0,
        error_rate: 0,
        rps: 1.39,
        latency_ms: logNormal(8.2, 0.3),
      },
      {
        name: 'condense',
        weight: 2,
        requests: 0,
        errors: 0,
        error_rate: 0,
        rps: 0,
        skipped: { reason: 'POST /v1/context/condense is not implemented by the proxy yet (404)' },
      },
    ],
    timeseries: series({
      durationS: 300,
      bucketS: 5,
      rampS: 30,
      users: 30,
      rps,
      median: () => 112,
      sigma: 0.18,
      errorRate: (t) => (t > 180 && t < 200 ? 0.02 : 0.001),
      seed: 1,
    }),
    latency_histogram: histogram(112, 0.18, requests),
    baselines: seedBaselines(tier, latency, errors / requests, rps),
    generator: { achieved_rps: rps, cpu_percent_mean: 7.5, cpu_percent_max: 12, limited: false },
    errors_by_kind: { http_502: 3, timeout: 2 },
  }
}

/** The heavy tier, open model, native engine: p95 and the error rate break their baselines and p95 regressed. */
export function failedSummary(): RunSummary {
  const tier: RunSummary['tier'] = {
    name: 'heavy',
    users: 400,
    duration_s: 900,
    ramp_up_s: 300,
    expected_rps: 80,
    latency_target: { percentile: 95, max_ms: 500 },
    error_rate_max: 0.05,
    scenarios: [
      { name: 'chat', weight: 5 },
      { name: 'chat-stream', weight: 3 },
      { name: 'models', weight: 2 },
    ],
  }
  const latency = logNormal(240, 0.6)
  const requests = 61_870
  const errors = 3_836
  const rps = round(requests / 900, 2)
  return {
    schema_version: 3,
    status: 'failed',
    status_reason: 'p95 latency and error rate above the heavy tier limits',
    run: {
      id: '20260504-140000-heavy-c3d4',
      tier: 'heavy',
      engine: 'native',
      engine_version: 'native (undici 8.13.1)',
      started_at: '2026-05-04T14:00:00.000Z',
      ended_at: '2026-05-04T14:15:03.000Z',
      duration_s: 903,
      duration_scale: 1,
      seed: 7,
      target_url: 'http://127.0.0.1:8000',
      mock_profile: 'degraded',
      load_model: 'open',
      command: 'npm run load:heavy -- --engine native --mock-profile degraded --seed 7',
    },
    environment: { ...environment(), cpu_count: 4, total_memory_mb: 15_872 },
    tier,
    totals: {
      requests,
      errors,
      error_rate: round(errors / requests, 4),
      rps,
      dropped_iterations: 412,
      latency_ms: latency,
      stream: stream(18_420, 410, 38, 221),
    },
    scenarios: [
      {
        name: 'chat',
        weight: 5,
        requests: 30_935,
        errors: 2_210,
        error_rate: 0.0714,
        rps: 34.37,
        latency_ms: logNormal(260, 0.6),
      },
      {
        name: 'chat-stream',
        weight: 3,
        requests: 18_561,
        errors: 1_402,
        error_rate: 0.0755,
        rps: 20.62,
        latency_ms: logNormal(1900, 0.4),
        stream: stream(18_420, 410, 38, 221),
      },
      {
        name: 'models',
        weight: 2,
        requests: 12_374,
        errors: 224,
        error_rate: 0.0181,
        rps: 13.75,
        latency_ms: logNormal(12, 0.5),
      },
    ],
    timeseries: series({
      durationS: 900,
      bucketS: 10,
      rampS: 300,
      users: 400,
      rps: 80,
      median: (t) => (t < 420 ? 180 : t < 560 ? 420 : 260),
      sigma: 0.5,
      errorRate: (t) => (t < 420 ? 0.01 : t < 560 ? 0.19 : 0.04),
      streams: { ttft: 410, itl: 38 },
      seed: 2,
    }),
    latency_histogram: histogram(240, 0.6, requests),
    baselines: seedBaselines(tier, latency, errors / requests, rps),
    regression: {
      reference: {
        name: 'ci/baselines/heavy.json',
        run_id: '20260501-090000-heavy-9f8e',
        git_commit: '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567',
      },
      method: 'bootstrap 95 % interval of the relative change (2,000 resamples of 10 s buckets)',
      verdicts: [
        {
          metric: 'latency_p95_ms',
          baseline: 455,
          current: latency.p95,
          change: round(latency.p95 / 455 - 1, 4),
          interval: { low: 0.41, high: 0.79, confidence: 0.95 },
          verdict: 'regressed',
        },
        {
          metric: 'error_rate',
          baseline: 0.021,
          current: 0.062,
          change: 1.952,
          interval: { low: 1.1, high: 2.9, confidence: 0.95 },
          verdict: 'regressed',
        },
        {
          metric: 'rps',
          baseline: 69.1,
          current: rps,
          change: round(rps / 69.1 - 1, 4),
          interval: { low: -0.02, high: 0.01, confidence: 0.95 },
          verdict: 'unchanged',
        },
      ],
    },
    generator: {
      intended_rps: 80,
      achieved_rps: rps,
      cpu_percent_mean: 41,
      cpu_percent_max: 63,
      limited: false,
    },
    errors_by_kind: { http_503: 2_104, http_429: 1_011, timeout: 498, reset: 202, truncated_stream: 21 },
  }
}

/** The medium tier with a streaming scenario and proxy metrics (memory, cache, breakers): passes. */
export function streamingSummary(): RunSummary {
  const base = passedSummary()
  const tier: RunSummary['tier'] = {
    name: 'medium',
    users: 100,
    duration_s: 300,
    ramp_up_s: 60,
    expected_rps: 20,
    latency_target: { percentile: 95, max_ms: 300 },
    error_rate_max: 0.02,
    think_time_s: { min: 2, max: 2 },
    scenarios: [
      { name: 'chat', weight: 4 },
      { name: 'chat-stream', weight: 4 },
      { name: 'models', weight: 2 },
    ],
  }
  const latency = logNormal(131, 0.3)
  const requests = 6_210
  const errors = 31
  const rps = round(requests / 300, 2)
  const streams = stream(2_480, 182, 21, 3)
  // A third of the streams are replays of cached answers: a TTFT of the proxy, not of a model.
  const byCache = { miss: stream(1_650, 173.7, 21, 3), hit: stream(830, 0.4, 0.5, 0) }
  return {
    ...base,
    status: 'passed',
    run: {
      ...base.run,
      id: '20260504-150000-medium-e5f6',
      tier: 'medium',
      engine: 'native',
      engine_version: 'native (undici 8.13.1)',
      started_at: '2026-05-04T15:00:00.000Z',
      ended_at: '2026-05-04T15:05:01.000Z',
      duration_s: 301,
      command: 'npm run load:medium -- --engine native',
      mock_latency: {
        ttft_ms: 2,
        itl_ms: 0,
        description: 'fast answers (2 ms to first token, no inter-token wait), no faults',
      },
    },
    tier,
    totals: {
      requests,
      errors,
      error_rate: round(errors / requests, 4),
      rps,
      rps_after_ramp_up: round(rps * 1.08, 2),
      latency_ms: latency,
      stream: streams,
      stream_by_cache: byCache,
      server_timing: {
        requests: 4_950,
        proxy_ms: { p50: 0.24, p90: 0.41, p95: 0.6, p99: 2.1, mean: 0.31 },
        upstream_ms: { p50: 118, p90: 171, p95: 196, p99: 290, mean: 126 },
      },
    },
    scenarios: [
      {
        name: 'chat',
        weight: 4,
        requests: 2_490,
        errors: 12,
        error_rate: 0.0048,
        rps: 8.3,
        latency_ms: logNormal(128, 0.25),
      },
      {
        name: 'chat-stream',
        weight: 4,
        requests: 2_480,
        errors: 19,
        error_rate: 0.0077,
        rps: 8.27,
        latency_ms: logNormal(168, 0.3),
        stream: streams,
        stream_by_cache: byCache,
      },
      {
        name: 'models',
        weight: 2,
        requests: 1_240,
        errors: 0,
        error_rate: 0,
        rps: 4.13,
        latency_ms: logNormal(6.4, 0.3),
      },
    ],
    timeseries: series({
      durationS: 300,
      bucketS: 5,
      rampS: 60,
      users: 100,
      rps,
      median: () => 131,
      sigma: 0.3,
      errorRate: (t) => (t >= 150 && t < 190 ? 0.02 : 0.003),
      streams: { ttft: 182, itl: 21 },
      seed: 3,
    }),
    latency_histogram: histogram(131, 0.3, requests),
    proxy_metrics: { source: 'http://127.0.0.1:8000/metrics', samples: proxySamples(300, 4) },
    baselines: [
      ...seedBaselines(tier, latency, errors / requests, rps),
      {
        name: 'truncated streams below 1 %',
        metric: 'stream_truncated_rate',
        comparator: '<',
        threshold: 0.01,
        unit: 'ratio',
        actual: streams.truncated_rate,
        passed: true,
        margin: round(1 - streams.truncated_rate / 0.01, 4),
      },
    ],
    generator: {
      intended_rps: 20,
      achieved_rps: rps,
      cpu_percent_mean: 14,
      cpu_percent_max: 22,
      limited: false,
    },
    errors_by_kind: { http_503: 19, http_429: 9, truncated_stream: 3 },
  }
}

/** A run that broke early: only the required fields, no optional part at all. */
export function minimalSummary(): RunSummary {
  const base = passedSummary()
  return {
    schema_version: 3,
    status: 'broken',
    run: {
      id: 'broken-run',
      tier: 'light',
      engine: 'autocannon',
      started_at: '2026-05-04T16:00:00Z',
      ended_at: '2026-05-04T16:00:02Z',
      duration_s: 2,
      duration_scale: 0.15,
      seed: 1,
      target_url: 'http://127.0.0.1:9',
      mock_profile: null,
      load_model: 'closed',
      command: 'npm run load:light -- --target http://127.0.0.1:9',
    },
    environment: {
      node_version: 'v24.21.0',
      os: 'Linux',
      cpu_model: 'unknown',
      cpu_count: 1,
      total_memory_mb: 2048,
      git_commit: null,
    },
    tier: {
      name: 'light',
      users: 30,
      duration_s: 300,
      ramp_up_s: 30,
      expected_rps: 5,
      latency_target: { percentile: 95, max_ms: 200 },
      error_rate_max: 0.01,
      scenarios: base.tier.scenarios,
    },
    totals: { requests: 12, errors: 12, error_rate: 1, rps: 6 },
    scenarios: [],
    baselines: [],
    errors_by_kind: { connect_refused: 12 },
  }
}

export const ALL_FIXTURES = {
  passed: passedSummary,
  failed: failedSummary,
  streaming: streamingSummary,
  minimal: minimalSummary,
}

/** The chart containers every report has, in display order. */
export const CHART_NAMES = [
  'rps',
  'latency',
  'errors',
  'latency-histogram',
  'ttft',
  'itl',
  'proxy-memory',
  'cache-hit-rate',
]
