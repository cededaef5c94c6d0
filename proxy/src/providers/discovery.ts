import type { RecordCache } from '../cache/store.ts'
import type { Clock } from '../clock.ts'
import { readBody } from './attempt.ts'
import type { ProviderRegistry, ProviderRuntime, Route } from './registry.ts'
import { DIALECT_PATHS, type Json } from './types.ts'

export interface DiscoveredModel {
  readonly id: string
  readonly owned_by?: string
  readonly created?: number
  readonly context_window?: number
}

/** One provider's model list as the model cache holds it. */
export interface ProviderModels {
  readonly models: DiscoveredModel[]
  readonly fetchedAt: number
}

export interface ModelEntry {
  id: string
  object: 'model'
  created: number
  owned_by: string
  /** The providers that serve it for this proxy (its deployments). */
  providers: string[]
  /** `chat` or `embedding` (models.<name>.kind). */
  kind: 'chat' | 'embedding'
  /** The routes that answer it, e.g. /v1/chat/completions, /v1/messages, /v1/responses. */
  endpoints: string[]
  /** For an alias: the route it resolves to. */
  alias_of?: string
  context_window?: number
}

export interface Catalog {
  readonly data: ModelEntry[]
  readonly warnings: { provider: string; message: string }[]
  /** Every provider list came from the model cache. */
  readonly cached: boolean
}

const MAX_PAGES = 10
const LIST_LIMIT = 64 * 1024 * 1024
const CONTEXT_FIELDS = ['context_window', 'context_length', 'max_context_length', 'max_input_tokens']

/**
 * The models this proxy routes (names and aliases, nothing else: a listed model must be usable),
 * each with its kind and the routes that answer it, described with what the providers' own lists
 * say (owner, creation date, context window): every provider's list (GET its models path with its
 * credentials, following Anthropic-style pages), cached per provider in the model cache. A
 * provider whose list fails is named in `warnings`; the routed names are listed all the same.
 * Concurrent refreshes of one provider share one call.
 */
export class ModelCatalog {
  readonly #registry: ProviderRegistry
  readonly #cache: RecordCache<ProviderModels, { provider: string }>
  readonly #clock: Clock
  readonly #timeoutMs: number
  readonly #pending = new Map<string, Promise<ProviderModels>>()
  /**
   * provider -> model -> context window, from the lists fetched (windows do not change often); two
   * lookups of strings V8 has hashed already, instead of a key built for every request.
   */
  readonly #windows = new Map<string, Map<string, number>>()
  readonly #created: number

  constructor(deps: {
    registry: ProviderRegistry
    cache: RecordCache<ProviderModels, { provider: string }>
    clock: Clock
    timeoutMs: number
  }) {
    this.#registry = deps.registry
    this.#cache = deps.cache
    this.#clock = deps.clock
    this.#timeoutMs = deps.timeoutMs
    this.#created = Math.floor(deps.clock.now() / 1000)
  }

  async list(): Promise<Catalog> {
    const providers = [...this.#registry.providers.values()]
    let cached = true
    const lists = await Promise.all(
      providers.map(async (p) => {
        const slot = this.#cache.get(p.name)
        if (slot) return { provider: p, models: this.#cache.decode(slot).models }
        cached = false
        try {
          return { provider: p, models: (await this.#refresh(p)).models }
        } catch (err) {
          return { provider: p, error: (err as Error).message }
        }
      }),
    )
    // Provider lists give what the proxy cannot know itself: owners, creation dates, windows.
    const listed = new Map<string, DiscoveredModel>()
    const warnings: Catalog['warnings'] = []
    for (const l of lists) {
      if (l.error !== undefined) {
        warnings.push({ provider: l.provider.name, message: `model list unavailable: ${l.error}` })
        continue
      }
      for (const m of l.models) listed.set(`${l.provider.name}\0${m.id}`, m)
    }
    const data: ModelEntry[] = []
    for (const [name, route] of this.#registry.routes()) {
      const first = route.deployments[0]
      const upstream = listed.get(`${first.provider.name}\0${first.model}`)
      const entry: ModelEntry = {
        id: name,
        object: 'model',
        created: upstream?.created ?? this.#created,
        owned_by: upstream?.owned_by ?? first.provider.name,
        providers: [...new Set(route.deployments.map((d) => d.provider.name))],
        kind: route.kind,
        endpoints: this.#registry.dialects(route).map((d) => DIALECT_PATHS[d]),
      }
      if (name !== route.name) entry.alias_of = route.name
      const window = route.contextWindow ?? this.contextWindow(route)
      if (window) entry.context_window = window
      data.push(entry)
    }
    return { data, warnings, cached }
  }

  /**
   * The context window of a route's first deployment as its provider lists it, from the lists
   * fetched so far (never a call on the request path); undefined when unknown.
   */
  contextWindow(route: Route): number | undefined {
    const d = route.deployments[0]
    return this.#windows.get(d.provider.name)?.get(d.model)
  }

  #refresh(p: ProviderRuntime): Promise<ProviderModels> {
    let pending = this.#pending.get(p.name)
    if (!pending) {
      pending = this.#fetch(p)
        .then((list) => {
          this.#cache.set(p.name, list, { provider: p.name })
          const windows = this.#windows.get(p.name) ?? new Map<string, number>()
          this.#windows.set(p.name, windows)
          for (const m of list.models) if (m.context_window) windows.set(m.id, m.context_window)
          return list
        })
        .finally(() => this.#pending.delete(p.name))
      this.#pending.set(p.name, pending)
    }
    return pending
  }

  async #fetch(p: ProviderRuntime): Promise<ProviderModels> {
    const { adapter, upstream } = p
    const models: DiscoveredModel[] = []
    const signal = AbortSignal.timeout(this.#timeoutMs)
    let after: string | undefined
    for (let page = 0; page < MAX_PAGES; page++) {
      const query =
        adapter.wire === 'anthropic'
          ? `?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ''}`
          : ''
      const res = await upstream.get(adapter.modelsPath + query, { ...adapter.headers }, signal)
      const body = await readBody(res.body, LIST_LIMIT)
      if (res.statusCode !== 200) {
        throw new Error(
          `${p.name} answered ${res.statusCode}: ${adapter.errorBody(res.statusCode, body).message}`,
        )
      }
      for (const m of adapter.models(body)) models.push(normalize(m))
      const json: Json = JSON.parse(body.toString('utf8'))
      if (json?.has_more !== true || typeof json.last_id !== 'string') break
      after = json.last_id
    }
    return { models, fetchedAt: this.#clock.now() }
  }
}

function normalize(m: Json): DiscoveredModel {
  let window: number | undefined
  for (const field of CONTEXT_FIELDS) {
    if (typeof m[field] === 'number' && m[field] > 0) {
      window = m[field]
      break
    }
  }
  return {
    id: m.id,
    ...(typeof m.owned_by === 'string' ? { owned_by: m.owned_by } : {}),
    ...(typeof m.created === 'number' ? { created: m.created } : {}),
    ...(window ? { context_window: window } : {}),
  }
}
