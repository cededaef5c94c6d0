import { chmodSync, createWriteStream, lstatSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { getHeapSnapshot } from 'node:v8'

// Heap snapshots written when memory runs high (profiling.dump_on_high_usage). A snapshot holds
// everything in the heap, provider keys included: the directory is the owner's alone (0700, not
// a symlink, owned by this user) and each file is created 0600 and never overwritten. At most
// profiling.max_dumps per process, and at most one per profiling.profile_interval.

export interface DumpInfo {
  file: string
  at: string
  bytes: number
  reason: string
}

export interface HeapDumperOptions {
  readonly dir: string
  readonly maxDumps: number
  readonly minIntervalMs: number
  readonly now: () => number
  /** Writes the snapshot; tests replace it with something fast. */
  readonly write?: (file: string) => Promise<void>
}

export class HeapDumper {
  readonly #options: HeapDumperOptions
  readonly #dumps: DumpInfo[] = []
  #lastAt = Number.NEGATIVE_INFINITY
  #busy = false

  constructor(options: HeapDumperOptions) {
    this.#options = options
  }

  get dumps(): readonly DumpInfo[] {
    return this.#dumps
  }

  /** Why a dump would not be taken now, or undefined when it would. */
  refusal(): string | undefined {
    if (this.#busy) return 'a dump is being written'
    if (this.#dumps.length >= this.#options.maxDumps) return `max_dumps (${this.#options.maxDumps}) reached`
    if (this.#options.now() - this.#lastAt < this.#options.minIntervalMs)
      return 'rate limited (profile_interval)'
    return undefined
  }

  async dump(reason: string): Promise<DumpInfo> {
    const refused = this.refusal()
    if (refused) throw new Error(`heap dump not taken: ${refused}`)
    this.#busy = true
    this.#lastAt = this.#options.now()
    try {
      const dir = ensurePrivateDir(this.#options.dir)
      const at = new Date(this.#options.now()).toISOString()
      const file = join(dir, `heap-${at.replace(/[:.]/g, '-')}-${process.pid}.heapsnapshot`)
      await (this.#options.write ?? writeSnapshot)(file)
      const info = { file, at, bytes: statSync(file).size, reason }
      this.#dumps.push(info)
      return info
    } finally {
      this.#busy = false
    }
  }
}

async function writeSnapshot(file: string): Promise<void> {
  await pipeline(getHeapSnapshot(), createWriteStream(file, { flags: 'wx', mode: 0o600 }))
}

/** Creates the directory 0700, or checks an existing one is a real directory of this user. */
export function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = lstatSync(dir)
  if (!st.isDirectory() || st.isSymbolicLink()) throw new Error(`${dir} is not a directory`)
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new Error(`${dir} belongs to another user`)
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700)
  return dir
}
