import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Env } from '../config/env.ts'
import { type Config, type LoadOptions, loadConfig } from '../config/load.ts'
import type { CacheFigures, MemoryPressureTarget } from '../observability/sources.ts'
import { BoundedLru } from './bounded-lru.ts'

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
  readonly #store: BoundedLru<string, Config>
  readonly #load: (options: LoadOptions) => Config
  readonly #stat: (file: string) => { mtimeMs: number; size: number }

  constructor(options: ConfigCacheOptions = {}) {
    this.#load = options.load ?? loadConfig
    this.#stat = options.stat ?? statSync
    this.#store = new BoundedLru<string, Config>({
      maxSize: options.maxBytes ?? 4 * 1024 * 1024,
      sizeCalculation: (config, key) => JSON.stringify(config).length * 2 + key.length * 2,
    })
  }

  /** The configuration of `file` in `env`; parses it only when the file or the environment changed. */
  load(file: string, env: Env): Config {
    const path = resolve(file)
    const { mtimeMs, size } = this.#stat(path)
    const key = `${path}\0${mtimeMs}\0${size}\0${envDigest(env)}`
    return this.#store.getOrSet(key, () => this.#load({ file: path, env }))
  }

  clear(): number {
    const n = this.#store.lru.size
    this.#store.withReason('manual', () => this.#store.lru.clear())
    return n
  }

  bytes(): number {
    return this.#store.bytes()
  }

  shrink(fraction: number): number {
    return this.#store.shrink(fraction)
  }

  figures(): CacheFigures {
    return this.#store.figures()
  }
}
