import type { MockError } from './errors.ts'
import type { RouteName } from './profile-schema.ts'
import type { ParsedRequest } from './wire.ts'

const MAX_ENTRIES = 1024
const MAX_BODY_CHARS = 8192

/**
 * Validated requests by exact body text, per route. Load tests send the same few bodies over and
 * over; identical bytes validate to the same immutable result, so JSON parsing, validation and
 * prompt token counting happen once per distinct body. Bounded: cleared when full.
 */
export class ParseCache {
  readonly #byRoute = new Map<RouteName, Map<string, ParsedRequest | MockError>>()
  #size = 0

  get(route: RouteName, body: string): ParsedRequest | MockError | undefined {
    return this.#byRoute.get(route)?.get(body)
  }

  set(route: RouteName, body: string, parsed: ParsedRequest | MockError): void {
    if (body.length > MAX_BODY_CHARS) return
    if (this.#size >= MAX_ENTRIES) {
      this.#byRoute.clear()
      this.#size = 0
    }
    let entries = this.#byRoute.get(route)
    if (entries === undefined) {
      entries = new Map()
      this.#byRoute.set(route, entries)
    }
    entries.set(body, parsed)
    this.#size++
  }
}
