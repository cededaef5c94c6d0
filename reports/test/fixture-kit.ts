// Building blocks of the fixtures: a seeded random source, log-normal latency statistics and
// histograms, bucketed time series, proxy samples and the seed baselines of a tier.
import { evaluateBaseline } from '../src/baseline.ts'
import type { LatencyStats, ProxySample, RunSummary, StreamStats, TimePoint } from '../src/summary.ts'

const Z = { p50: 0, p90: 1.2816, p95: 1.6449, p99: 2.3263 }

export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const round = (value: number, digits = 1) => Number(value.toFixed(digits))

/** Latency statistics of a log-normal with the given median (ms) and shape. */
export function logNormal(median: number, sigma: number): LatencyStats {
  const at = (z: number) => round(median * Math.exp(sigma * z))
  return {
    min: at(-2.5),
    mean: round(median * Math.exp((sigma * sigma) / 2)),
    p50: at(Z.p50),
    p90: at(Z.p90),
    p95: at(Z.p95),
    p99: at(Z.p99),
    max: at(3.6),
  }
}

function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x))
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x)
  return x >= 0 ? y : -y
}

export function histogram(median: number, sigma: number, requests: number): RunSummary['latency_histogram'] {
  const bounds = [
    5, 10, 20, 30, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000,
  ]
  const cdf = (ms: number) => 0.5 * (1 + erf(Math.log(ms / median) / (sigma * Math.SQRT2)))
  let previous = 0
  const buckets = bounds.map((le, i) => {
    const upto = i === bounds.length - 1 ? requests : Math.round(cdf(le) * requests)
    const count = Math.max(0, upto - previous)
    previous = upto
    return { le_ms: le, count }
  })
  return { buckets }
}

type SeriesShape = {
  durationS: number
  bucketS: number
  rampS: number
  users: number
  rps: number
  /** Median latency (ms) at time t. */
  median: (t: number) => number
  sigma: number
  errorRate: (t: number) => number
  streams?: { ttft: number; itl: number }
  seed: number
}

export function series(shape: SeriesShape): NonNullable<RunSummary['timeseries']> {
  const rand = random(shape.seed)
  const points: TimePoint[] = []
  for (let t = shape.bucketS; t <= shape.durationS; t += shape.bucketS) {
    const ramp = shape.rampS > 0 ? Math.min(1, t / shape.rampS) : 1
    const jitter = () => 1 + (rand() - 0.5) * 0.16
    const median = shape.median(t) * jitter()
    const rps = round(shape.rps * ramp * jitter(), 2)
    const point: TimePoint = {
      t,
      requests: Math.round(rps * shape.bucketS),
      rps,
      error_rate: round(Math.min(1, Math.max(0, shape.errorRate(t) * jitter())), 4),
      p50_ms: round(median),
      p95_ms: round(median * Math.exp(shape.sigma * Z.p95)),
      p99_ms: round(median * Math.exp(shape.sigma * Z.p99)),
      active_users: Math.round(shape.users * ramp),
    }
    if (shape.streams) {
      const ttft = shape.streams.ttft * jitter() * (median / shape.median(0))
      point.ttft_p50_ms = round(ttft)
      point.ttft_p95_ms = round(ttft * 1.9)
      point.itl_p50_ms = round(shape.streams.itl * jitter())
      point.itl_p95_ms = round(shape.streams.itl * 2.4 * jitter())
    }
    points.push(point)
  }
  return { bucket_s: shape.bucketS, points }
}

export function environment(): RunSummary['environment'] {
  return {
    node_version: 'v24.21.0',
    os: 'Linux 6.1.0-41-amd64',
    arch: 'x64',
    cpu_model: 'AMD EPYC 7B13',
    cpu_count: 2,
    total_memory_mb: 7936,
    git_commit: '6b83176e0c1d2a9f3b4e5d6c7a8b9c0d1e2f3a4b',
    generator_notes: ['mocks and proxy on the same host as the generator'],
  }
}

export function stream(streams: number, ttft: number, itl: number, truncated: number): StreamStats {
  return {
    streams,
    ttft_ms: { p50: ttft, p90: round(ttft * 1.6), p95: round(ttft * 1.9), p99: round(ttft * 2.7) },
    itl_ms: { p50: itl, p90: round(itl * 1.9), p95: round(itl * 2.4), p99: round(itl * 4) },
    tokens_per_s: round(1000 / itl, 1),
    truncated,
    truncated_rate: round(truncated / streams, 4),
  }
}

export function seedBaselines(
  tier: RunSummary['tier'],
  latency: LatencyStats,
  errorRate: number,
  rps: number,
) {
  return [
    evaluateBaseline(
      {
        name: `p95 latency below ${tier.latency_target.max_ms} ms`,
        metric: 'latency_p95_ms',
        comparator: '<',
        threshold: tier.latency_target.max_ms,
        unit: 'ms',
      },
      latency.p95,
    ),
    evaluateBaseline(
      {
        name: `error rate below ${tier.error_rate_max * 100} %`,
        metric: 'error_rate',
        comparator: '<',
        threshold: tier.error_rate_max,
        unit: 'ratio',
      },
      errorRate,
    ),
    evaluateBaseline(
      {
        name: `throughput of at least ${tier.expected_rps} req/s`,
        metric: 'rps',
        comparator: '>=',
        threshold: tier.expected_rps,
        unit: 'rps',
      },
      rps,
    ),
  ]
}

export function proxySamples(durationS: number, seed: number): ProxySample[] {
  const rand = random(seed)
  const samples: ProxySample[] = []
  for (let t = 0; t <= durationS; t += 10) {
    const warm = Math.min(1, t / 120)
    const anthropic = t >= 150 && t < 180 ? 'open' : t >= 180 && t < 190 ? 'half_open' : 'closed'
    samples.push({
      t,
      rss_mb: round(96 + 58 * warm + rand() * 6),
      heap_used_mb: round(38 + 31 * warm + rand() * 9),
      cache_hit_rate: round(0.62 * warm + rand() * 0.04, 3),
      breakers: { 'mock-openai': 'closed', 'mock-anthropic': anthropic },
    })
  }
  return samples
}
