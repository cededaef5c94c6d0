import type { CancelSignal } from '../src/cancel.ts'
import type { Clock } from '../src/clock.ts'

/** A clock that only moves when told to, and records every sleep asked of it. */
export class FakeClock implements Clock {
  time = Date.parse('2026-01-01T00:00:00Z')
  readonly sleeps: number[] = []

  now = (): number => this.time
  monotonic = (): number => this.time

  sleep = async (ms: number, cancel?: CancelSignal): Promise<void> => {
    if (cancel?.aborted) throw cancel.reason
    this.sleeps.push(ms)
    this.time += ms
  }

  advance(ms: number): void {
    this.time += ms
  }
}
