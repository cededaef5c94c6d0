import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { LRUCache } from 'lru-cache'
import type { Env } from '../config/env.ts'
import { type Config, type LoadOptions, loadConfig } from '../config/load.ts'
import type { CacheFigures, MemoryPressureTarget } from '../observability/sources.ts'

export interface ConfigCacheOptions {
  readonly maxBytes?: number
  readonly load?: (options: LoadOptions) => Config
  readonly stat?: (file: string) => { mtimeMs: number; size: number }
}

/** A digest of the whole environment: any variable may be read by the config (api_key_env, ...). */
export function envDigest(env: Env): string {
  const hash = createHash('sha256')
  for (const name of Object.keys(env).sort()) {
    const value = env[name]
    if (value !== undefined) hash.update(`${name}=${value}\0`)
  }
  return hash.digest('hex')
}

/**
 * The configuration cache: parsed, validated and frozen configurations keyed by file path,
 * modification time, size and a digest of the environment, so a worker or a reload reading
 * an unchanged file in an unchanged environment skips the YAML parse and the validation, and
 * a changed file is read again. The frozen objects are shared, never copied. Bounded in bytes
 * (the JSON size of each config).
 */
export class ConfigCache implements MemoryPressureTarget {
  readonly name = 'config'
  readonly maxBytes: number
  readonly #lru: LRUCache<string, Config>
  readonly #load: (options: LoadOptions) => Config
  readonly #stat: (file: string) => { mtimeMs: number; size: number }
  readonly #removals: Record<string, number> = {}
  #shrinking = false
  hits = 0
  misses = 0

  constructor(options: ConfigCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024
    this.#load = options.load ?? loadConfig
    this.#stat = options.stat ?? statSync
    this.#lru = new LRUCache<string, Config>({
      maxSize: this.maxBytes,
      sizeCalculation: (config, key) => JSON.stringify(config).length * 2 + key.length * 2,
      dispose: (_c, _k, reason) => {
        const counted = this.#shrinking ? 'memory_pressure' : reason
        this.#removals[counted] = (this.#removals[counted] ?? 0) + 1
      },
    })
  }

  /** The configuration of `file` in `env`; parses it only when the file or the environment changed. */
  load(file: string, env: Env): Config {
    const path = resolve(file)
    const { mtimeMs, size } = this.#stat(path)
    const key = `${path}\0${mtimeMs}\0${size}\0${envDigest(env)}`
    const cached = this.#lru.get(key)
    if (cached !== undefined) {
      this.hits++
      return cached
    }
    this.misses++
    const config = this.#load({ file: path, env })
    this.#lru.set(key, config)
    return config
  }

  clear(): number {
    const n = this.#lru.size
    this.#lru.clear()
    return n
  }

  bytes(): number {
    return this.#lru.calculatedSize
  }

  shrink(fraction: number): number {
    const before = this.#lru.calculatedSize
    this.#shrinking = true
    try {
      while (this.#lru.size > 0 && before - this.#lru.calculatedSize < before * fraction) this.#lru.pop()
    } finally {
      this.#shrinking = false
    }
    return before - this.#lru.calculatedSize
  }

  figures(): CacheFigures {
    const lookups = this.hits + this.misses
    return {
      hits: this.hits,
      misses: this.misses,
      hit_rate: lookups === 0 ? 0 : this.hits / lookups,
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      max_bytes: this.maxBytes,
      evictions: { ...this.#removals },
      compression_ratio: null,
    }
  }
}
