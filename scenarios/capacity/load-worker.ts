// The capacity sweep's engine process: the native engine, plus the steady-state window of the step
// (window.ts) folded from every outcome, returned in the result's `raw`. Started by runEngine with
// `workerPath`; speaks the engines' protocol (plan.ts); not meant to be run by hand.
import { runNative } from '../engines/native.ts'
import type { EnginePlan, FromEngine, ToEngine } from '../engines/plan.ts'
import { WindowAccumulator } from './window.ts'

/** A plan with the window to measure, seconds since the first arrival. */
export type WindowedPlan = EnginePlan & { readonly window: { readonly fromS: number; readonly toS: number } }

const stop = new AbortController()

function reply(message: FromEngine): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve()
    process.send(message, undefined, undefined, () => resolve())
  })
}

async function measure(plan: WindowedPlan): Promise<void> {
  const window = new WindowAccumulator(plan.window.fromS * 1000, plan.window.toS * 1000)
  try {
    const result = await runNative(plan, {
      onTick: (tick) => void reply({ type: 'tick', tick }),
      onOutcome: (outcome) => window.add(outcome),
      signal: stop.signal,
    })
    // The per-bucket latency samples are the CI gate's; a sweep step does not need them over IPC.
    await reply({ type: 'done', result: { ...result, samples: [], raw: window.stats() } })
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error))
    await reply({ type: 'failed', message: err.message, stack: err.stack })
  }
  if (process.connected) process.disconnect()
}

// Only as a forked engine process (import it for its types alone).
if (process.send) {
  process.on('message', (message: ToEngine) => {
    if (message.type === 'start') void measure(message.plan as WindowedPlan)
    else stop.abort()
  })
  process.on('disconnect', () => stop.abort())
  process.on('SIGINT', () => stop.abort())
}
