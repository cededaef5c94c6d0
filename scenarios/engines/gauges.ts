// Small pieces of engine machinery: the generator's CPU meter, abortable sleeps, package versions.
import { createRequire } from 'node:module'

/** CPU of this process since the previous reading, 100 = one core busy the whole interval. */
export function cpuMeter(): () => number {
  let last = process.cpuUsage()
  let lastAt = process.hrtime.bigint()
  return () => {
    const usage = process.cpuUsage(last)
    const at = process.hrtime.bigint()
    const wallUs = Number(at - lastAt) / 1000
    last = process.cpuUsage()
    lastAt = at
    return wallUs <= 0 ? 0 : ((usage.user + usage.system) / wallUs) * 100
  }
}

/** Sleeps that can all be cut short at once (when the run stops). */
export class Sleeper {
  readonly #pending = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>()
  #woken = false

  sleep(ms: number): Promise<void> {
    if (this.#woken || ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.#pending.delete(entry)
          resolve()
        }, ms),
      }
      this.#pending.add(entry)
    })
  }

  wakeAll(): void {
    this.#woken = true
    for (const entry of this.#pending) {
      clearTimeout(entry.timer)
      entry.resolve()
    }
    this.#pending.clear()
  }
}

export function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}
