// The open-model generator runs ahead of the mock it shares a core with (services.ts ahead): at the
// highest priority while it sends when the machine lets it, back at its own afterwards whatever
// happened, and it says which priority it ran at, so a report never claims a priority it did not have.
import { execFile } from 'node:child_process'
import { getPriority } from 'node:os'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ahead, GENERATOR_NICE } from '../bench/services.ts'

const root = process.getuid?.() === 0

describe('ahead', () => {
  it.runIf(root)('runs the work at the highest priority and puts the thread back after', async () => {
    const own = getPriority()
    const { value, nice } = await ahead(async () => getPriority())
    expect(nice).toBe(GENERATOR_NICE)
    expect(value).toBe(GENERATOR_NICE)
    expect(getPriority()).toBe(own)
  })

  it.runIf(root)('puts the thread back when the work fails', async () => {
    const own = getPriority()
    await expect(
      ahead(async () => {
        throw new Error('the generator failed')
      }),
    ).rejects.toThrow('the generator failed')
    expect(getPriority()).toBe(own)
  })

  it('says the work ran at its own priority when it may not raise it', async () => {
    // Without CAP_SYS_NICE (taken from root's bounding set by util-linux's setpriv) a process may
    // not lower its niceness.
    const script = `
      import { getPriority } from 'node:os'
      import { ahead } from ${JSON.stringify(new URL('../bench/services.ts', import.meta.url).href)}
      const own = getPriority()
      const { value, nice } = await ahead(async () => getPriority())
      console.log(JSON.stringify({ own, value, nice, after: getPriority() }))
    `
    const node = [process.execPath, '--input-type=module', '-e', script]
    const [command, ...args] = root ? ['setpriv', '--bounding-set=-sys_nice', ...node] : node
    const { stdout } = await promisify(execFile)(command, args)
    const seen = JSON.parse(stdout)
    expect(seen.nice).toBe(seen.own)
    expect(seen.value).toBe(seen.own)
    expect(seen.after).toBe(seen.own)
    expect(seen.own).toBeGreaterThan(GENERATOR_NICE)
  })
})
