import { z } from 'zod'
import { AlertingSchema } from '../observability/alert-config.ts'

// The proxy's configuration: the keys of the performance guide, with their documented defaults.
// Times are in seconds, as in the guide; sizes in MB. Every object is strict so a misspelt key is
// reported instead of silently ignored.

const seconds = z.number().nonnegative()
const positiveSeconds = z.number().positive()
const percent = z.number().min(1).max(100)
const fraction = z.number().min(0).max(1)
const port = z.number().int().min(0).max(65535)
const statusCode = z.number().int().min(100).max(599)

// A section whose keys all have defaults, so an absent section is filled in too.
const obj = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).prefault({} as never)

const App = obj({
  environment: z.enum(['development', 'staging', 'production']).default('development'),
  debug: z.boolean().default(false),
})

const Server = obj({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8000),
  workers: z.number().int().min(1).max(256).default(1),
  worker_connections: z.number().int().positive().default(1000),
  max_requests: z.number().int().nonnegative().default(0),
  max_requests_jitter: z.number().int().nonnegative().default(0),
  body_limit_mb: z.number().positive().default(10),
  keep_alive_timeout: positiveSeconds.default(72),
  shutdown_timeout: positiveSeconds.default(30),
  // A client must send its request head within headers_timeout and the whole request within
  // request_timeout; a body that never finishes is answered 408 instead of holding a socket.
  headers_timeout: positiveSeconds.default(10),
  request_timeout: positiveSeconds.default(30),
})

const Auth = obj({
  api_keys: z.array(z.string().min(8)).default([]),
  admin_keys: z.array(z.string().min(8)).default([]),
})

const PoolLimits = obj({
  max_connections: z.number().int().positive().default(100),
  max_keepalive_connections: z.number().int().nonnegative().default(30),
  keepalive_timeout: positiveSeconds.default(30),
})

const RetryBudget = obj({
  ratio: fraction.default(0.2),
  min_retries_per_second: z.number().nonnegative().default(5),
  window: positiveSeconds.default(10),
})

const HttpClient = obj({
  timeout: positiveSeconds.default(30),
  connect_timeout: positiveSeconds.default(10),
  read_timeout: positiveSeconds.default(30),
  pool_limits: PoolLimits,
  retry_attempts: z.number().int().min(0).max(10).optional(),
  retry_backoff_factor: seconds.optional(),
  retry_status_codes: z.array(statusCode).default([429, 500, 502, 503, 504]),
  retry_max_backoff: positiveSeconds.default(8),
  retry_after_max: seconds.default(30),
  retry_budget: RetryBudget,
  // From a request's arrival to the start of its answer: waits in the admission queue, every
  // attempt and every wait between attempts count; past it the request fails (504).
  request_deadline: positiveSeconds.default(60),
  // From an attempt's start to the start of its answer (a stream's first answer event, a plain
  // answer's last byte): past it the attempt fails as a timeout and the request fails over while
  // its deadline allows. Unset, only the deadline bounds that wait: a reasoning model may think
  // for tens of seconds before its first token, with the response head long sent.
  first_token_timeout: positiveSeconds.optional(),
  // A non-streamed answer larger than this fails (upstream_bad_response) instead of filling memory.
  max_response_mb: z.number().positive().default(32),
  admission: obj({
    // Calls that may wait for one of a provider's connections (per worker), and for how long.
    queue_size: z.number().int().nonnegative().default(100),
    // Short: a request let into the queue is served or shed within it, so shedding stays fast.
    queue_timeout: seconds.default(0.025),
    // 429 answers lower a provider's concurrent calls (x0.9), successes raise them back (+1).
    adaptive: z.boolean().default(true),
    min_concurrency: z.number().int().positive().default(1),
    // When this share of the calls in the window (or ten in a row) was answered 429, further calls
    // are answered 429 at once (with the provider's Retry-After) while one probe at a time goes through.
    throttle_ratio: fraction.default(0.5),
    window: positiveSeconds.default(10),
  }),
  // The guide also spells the retry settings this way; both are accepted, the flat keys win.
  retry_config: z
    .strictObject({
      attempts: z.number().int().min(0).max(10).optional(),
      backoff_factor: seconds.optional(),
    })
    .optional(),
})

const CircuitBreaker = obj({
  enabled: z.boolean().default(true),
  failure_threshold: z.number().int().positive().default(5),
  error_threshold_percentage: percent.default(50),
  recovery_timeout: positiveSeconds.default(60),
  half_open_max_calls: z.number().int().positive().default(3),
  expected_exception: z.string().default('ProviderError'),
  count_status_codes: z.array(statusCode).default([500, 502, 503, 504]),
  adaptive_thresholds: z.boolean().default(true),
  success_rate_tracking: z.boolean().default(true),
  dynamic_recovery_timeout: z.boolean().default(true),
  max_recovery_timeout: positiveSeconds.default(600),
})

const Streaming = obj({
  ping_interval: seconds.default(10),
  inject_usage: z.boolean().default(true),
  // One upstream SSE event larger than this fails the stream (counted against the provider).
  max_event_kb: z.number().positive().default(1024),
})

const CacheSection = <E extends z.ZodRawShape>(maxSizeMb: number, ttl: number, extra: E) =>
  obj({
    enabled: z.boolean().default(true),
    max_size_mb: z.number().positive().default(maxSizeMb),
    ttl: positiveSeconds.default(ttl),
    compression: z.boolean().default(true),
    ...extra,
  })

const Caching = obj({
  enabled: z.boolean().default(true),
  response_cache: CacheSection(100, 1800, {
    // Requests with temperature > 0 (or unset) or n > 1 are cached too (the guide caches
    // responses); false caches only temperature 0 or seeded single-choice requests.
    cache_non_deterministic: z.boolean().default(true),
  }),
  summary_cache: CacheSection(50, 3600, {}),
  model_cache: obj({ ttl: positiveSeconds.default(300), max_size_mb: z.number().positive().default(5) }),
  warming: obj({
    enabled: z.boolean().default(true),
    interval: positiveSeconds.default(300),
    preload_popular: z.boolean().default(true),
    preload_threshold: z.number().int().positive().default(10),
    max_per_run: z.number().int().positive().default(100),
    concurrency: z.number().int().positive().default(4),
    max_tracked_mb: z.number().positive().default(8),
  }),
  redis: obj({
    url: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional(),
    key_prefix: z.string().default('llmproxy:'),
    operation_timeout: positiveSeconds.default(0.05),
    connect_timeout: positiveSeconds.default(2),
  }),
})

const Condensation = obj({
  enabled: z.boolean().default(true),
  // Condense an over-long chat request before sending it, and retry once after an upstream
  // context_length_exceeded.
  auto: z.boolean().default(true),
  // The routed model that writes summaries; default: the model of the request being condensed.
  model: z.string().min(1).optional(),
  summary_max_tokens: z.number().int().positive().default(512),
  // Share of the context window left free when condensing for it (tokenizers differ).
  safety_margin: z.number().min(0).max(0.5).default(0.1),
})

const Memory = obj({
  max_usage_percent: percent.default(85),
  gc_threshold_percent: percent.default(80),
  monitoring_interval: positiveSeconds.default(30),
  cache_cleanup_interval: positiveSeconds.default(300),
  // A budget of its own instead of the heap or cgroup limit (see observability/memory-limit.ts).
  limit_mb: z.number().positive().optional(),
})

const Profiling = obj({
  enabled: z.boolean().default(false),
  dump_on_high_usage: z.boolean().default(true),
  profile_interval: positiveSeconds.default(300),
  max_dumps: z.number().int().nonnegative().default(5),
})

// Rules, conditions and channels are checked in depth by the alerting module's own schema.
const Alerting = AlertingSchema

const Logging = obj({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  performance: z.boolean().default(true),
  http_client: z.boolean().default(false),
  cache: z.boolean().default(false),
  /** The most request lines a process writes a second; past it, plain requests are counted (0: no limit). */
  request_lines_per_second: z.number().int().nonnegative().default(1000),
})

const Performance = obj({
  monitoring_enabled: z.boolean().default(true),
  profiling_enabled: z.boolean().default(false),
  debug_logging: z.boolean().default(false),
  cache_ttl_multiplier: z.number().positive().max(10).optional(),
  http_client: obj({
    dns_cache_ttl: seconds.default(300),
    tcp_keepalive: z.boolean().default(true),
    tcp_keepalive_idle: positiveSeconds.default(60),
    tcp_keepalive_interval: positiveSeconds.default(30),
    tcp_keepalive_count: z.number().int().positive().default(3),
  }),
  cache: obj({
    enable_compression: z.boolean().default(true),
    compression_algorithm: z.enum(['gzip', 'brotli', 'zstd']).default('gzip'),
    // Clamped to the algorithm's scale: gzip 1-9, brotli 0-11, zstd 1-22.
    compression_level: z.number().int().min(1).max(22).default(6),
    // Records below this are stored uncompressed: measured by `npm run bench:codec`.
    compression_threshold_bytes: z.number().int().nonnegative().default(2048),
    enable_serialization: z.boolean().default(true),
    serialization_format: z.enum(['json', 'msgpack']).default('msgpack'),
  }),
  memory: obj({
    enable_advanced_gc: z.boolean().default(false),
    gc_generations: z.array(z.number()).optional(),
    enable_memory_profiling: z.boolean().default(false),
    memory_dump_path: z.string().default('/tmp/memory_dumps'),
  }),
  circuit_breaker: obj({
    enable_adaptive_thresholds: z.boolean().default(true),
    success_rate_window: positiveSeconds.default(60),
    failure_rate_window: positiveSeconds.default(60),
    recovery_success_threshold: fraction.default(0.8),
  }),
})

const providerName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, _ . - only')

const Provider = z.strictObject({
  name: providerName,
  wire: z.enum(['openai', 'anthropic']),
  base_url: z.url({ protocol: /^https?$/ }),
  api_key: z.string().min(1).optional(),
  api_key_env: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).default({}),
  anthropic_version: z.string().default('2023-06-01'),
  default_max_tokens: z.number().int().positive().default(4096),
  models: z.array(z.string()).default([]),
})

const Deployment = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1).optional(),
  weight: z.number().positive().default(1),
})

const Route = z.strictObject({
  // A chat model answers chat completions, Messages and Responses; an embedding model, embeddings.
  kind: z.enum(['chat', 'embedding']).default('chat'),
  strategy: z.enum(['priority', 'weighted']).default('priority'),
  deployments: z.array(Deployment).min(1),
  aliases: z.array(z.string().min(1)).default([]),
  context_window: z.number().int().positive().optional(),
})

export const ConfigSchema = z.strictObject({
  app: App,
  server: Server,
  auth: Auth,
  http_client: HttpClient,
  circuit_breaker: CircuitBreaker,
  streaming: Streaming,
  caching: Caching,
  condensation: Condensation,
  memory: Memory,
  profiling: Profiling,
  alerting: Alerting,
  logging: Logging,
  performance: Performance,
  providers: z.array(Provider).default([]),
  models: z.record(z.string(), Route).default({}),
  environments: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
})

export type RawConfig = z.infer<typeof ConfigSchema>
export type ProviderConfig = z.infer<typeof Provider>
export type RouteConfig = z.infer<typeof Route>
export type DeploymentConfig = z.infer<typeof Deployment>
export type { AlertRuleConfig } from '../observability/alert-config.ts'
