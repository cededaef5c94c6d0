// The engine's own process: it receives a plan over IPC, runs it on its own event loop (so the
// runner's progress drawing and metrics sampling never delay a send), streams one tick per second
// back and ends with the result. Started by engine-process.ts; not meant to be run by hand.
import { runAutocannon } from './autocannon.ts'
import { runNative } from './native.ts'
import type { FromEngine, Tick, ToEngine } from './plan.ts'

const abort = new AbortController()

function send(message: FromEngine): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve()
    process.send(message, undefined, undefined, () => resolve())
  })
}

async function run(message: Extract<ToEngine, { type: 'start' }>): Promise<void> {
  const hooks = { onTick: (tick: Tick) => void send({ type: 'tick', tick }), signal: abort.signal }
  try {
    const result =
      message.plan.engine === 'autocannon'
        ? await runAutocannon(message.plan, hooks)
        : await runNative(message.plan, hooks)
    await send({ type: 'done', result })
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error))
    await send({ type: 'failed', message: err.message, stack: err.stack })
  }
  if (process.connected) process.disconnect()
}

process.on('message', (message: ToEngine) => {
  if (message.type === 'start') void run(message)
  else if (message.type === 'stop') abort.abort()
})
// The runner going away (disconnect) stops the run rather than leaving an orphan sending load.
process.on('disconnect', () => abort.abort())
process.on('SIGINT', () => abort.abort())
