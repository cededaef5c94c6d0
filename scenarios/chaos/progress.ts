// The live line of a chaos run: time, phase, requests so far and their success, and the breakers the
// proxy reports. Redrawn in place on a terminal, one line every 5 s otherwise (CI logs).
import type { Observations } from './observe.ts'
import type { RequestRecord } from './request.ts'
import type { ChaosScenario } from './scenario.ts'

export type ChaosProgress = { record(r: RequestRecord): void; done(): void }

export function createChaosProgress(
  out: (NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) | null,
  scenario: ChaosScenario,
  now: () => number,
  observed: Observations,
): ChaosProgress {
  if (!out) return { record() {}, done() {} }
  const tty = out.isTTY === true
  let sent = 0
  let ok = 0
  const line = () => {
    const t = now() / 1000
    const phase = scenario.phases.find((p) => t >= p.start && t < p.end)?.name ?? 'draining'
    const breakers = Object.entries(observed.metrics.at(-1)?.breakers ?? {})
      .filter(([, state]) => state !== 'closed')
      .map(([p, state]) => `${p} ${state}`)
    const rate = sent ? `${((ok / sent) * 100).toFixed(1)} % ok` : '-'
    return `chaos ${scenario.name} ${t.toFixed(0)}/${scenario.load.duration.toFixed(0)} s  phase ${phase}  ${sent} requests  ${rate}${breakers.length ? `  breaker ${breakers.join(', ')}` : ''}`
  }
  const draw = () => {
    if (tty) out.write(`\r\x1b[2K${line().slice(0, (out.columns ?? 120) - 1)}`)
    else out.write(`${line()}\n`)
  }
  const timer = setInterval(draw, tty ? 1000 : 5000)
  return {
    record(r) {
      sent++
      if (r.ok) ok++
    },
    done() {
      clearInterval(timer)
      if (tty) out.write(`\r\x1b[2K${line()}\n`)
    },
  }
}
