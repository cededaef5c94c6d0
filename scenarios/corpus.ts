// A deterministic prompt corpus with Zipf-like popularity. The same seed builds the same prompts
// and draws them in the same order, so a cache in front of the mocks sees the same repeats on every
// run: its hit rate is realistic (a few prompts are very popular, most are rare) and reproducible.
import { type Random, streamFor } from './random.ts'

export type Message = { readonly role: 'system' | 'user' | 'assistant'; readonly content: string }

export type Prompt = {
  /** Popularity rank, 0 = the most popular prompt. */
  readonly rank: number
  readonly model: string
  readonly messages: readonly Message[]
}

export type CorpusOptions = {
  readonly size: number
  /** s in P(rank r) ~ 1 / r^s; 0 is uniform, 1 the classic Zipf. */
  readonly zipfExponent: number
  /** Prompts are bound to models round-robin, so a prompt's cache key is stable. */
  readonly models: readonly string[]
  readonly seed: number
}

const TASKS = [
  'Explain',
  'Summarize the trade-offs of',
  'Write a short checklist for',
  'Give three examples of',
  'Compare two approaches to',
  'List common mistakes in',
  'Describe how to test',
  'Draft an incident note about',
]
const TOPICS = [
  'connection pooling in HTTP clients',
  'circuit breakers for flaky upstream APIs',
  'caching LLM responses',
  'retry budgets and exponential backoff',
  'server-sent events through a reverse proxy',
  'rate limiting with Retry-After headers',
  'memory leaks in long-running Node.js services',
  'p95 versus p99 latency targets',
  'token counting for context windows',
  'failover between model providers',
  'load testing with an open workload model',
  'graceful shutdown of an API gateway',
]
const AUDIENCES = ['a new engineer', 'an on-call SRE', 'a product manager', 'a security reviewer', 'a CTO']
const SYSTEMS = [
  'You are a concise assistant.',
  'You are a senior platform engineer. Answer precisely.',
  'Answer in plain English, no more than five sentences.',
]
const CONTEXT =
  'Context: the service proxies chat completions to two providers, keeps a response cache and reports metrics every second.'

function pick<T>(random: Random, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]
}

/** Builds `size` distinct prompts; prompt i (rank i) is the same for the same seed. */
export function buildCorpus(options: CorpusOptions): Prompt[] {
  const random = streamFor(options.seed, 'corpus')
  const prompts: Prompt[] = []
  for (let rank = 0; rank < options.size; rank++) {
    const sentences = 2 + Math.floor(random() * 5)
    const user = `${pick(random, TASKS)} ${pick(random, TOPICS)} for ${pick(random, AUDIENCES)} in ${sentences} sentences. (#${rank})`
    // One prompt in four carries a longer context, as retrieval-augmented requests do.
    const content = random() < 0.25 ? `${CONTEXT}\n\n${user}` : user
    prompts.push({
      rank,
      model: options.models[rank % options.models.length],
      messages: [
        { role: 'system', content: pick(random, SYSTEMS) },
        { role: 'user', content },
      ],
    })
  }
  return prompts
}

/** Draws ranks 0..n-1 with P(r) proportional to 1 / (r + 1)^s, by inverse CDF and binary search. */
export class ZipfSampler {
  readonly #cdf: Float64Array
  readonly #random: Random

  constructor(size: number, exponent: number, random: Random) {
    if (!(size >= 1)) throw new RangeError('a Zipf sampler needs at least one rank')
    this.#random = random
    this.#cdf = new Float64Array(size)
    let total = 0
    for (let r = 0; r < size; r++) {
      total += 1 / (r + 1) ** exponent
      this.#cdf[r] = total
    }
    for (let r = 0; r < size; r++) this.#cdf[r] /= total
  }

  /** Probability of rank r (for tests and documentation). */
  probability(rank: number): number {
    return this.#cdf[rank] - (rank === 0 ? 0 : this.#cdf[rank - 1])
  }

  next(): number {
    const u = this.#random()
    let low = 0
    let high = this.#cdf.length - 1
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.#cdf[mid] > u) high = mid
      else low = mid + 1
    }
    return low
  }
}

/** The corpus and its sampler: `next()` is the sequence of prompts a run sends. */
export function createPromptSource(options: CorpusOptions): { corpus: readonly Prompt[]; next(): Prompt } {
  const corpus = buildCorpus(options)
  const sampler = new ZipfSampler(corpus.length, options.zipfExponent, streamFor(options.seed, 'popularity'))
  return { corpus, next: () => corpus[sampler.next()] }
}
