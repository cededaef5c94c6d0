import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Clock, Timers } from './clock.ts'
import { createMockHttpServer } from './http-server.ts'
import { MockService } from './mock-service.ts'
import { parseProfile } from './profile.ts'
import { loadProfile } from './profile-load.ts'
import type { Profile, ProfileInput } from './profile-schema.ts'
import type { StatsSnapshot } from './stats.ts'
import type { WireName } from './wire.ts'

/** A profile object, or a name in profiles/ or a path to a YAML/JSON file. */
export type ProfileSource = Profile | ProfileInput | string

export const DEFAULT_PROFILE = 'baseline'

export function resolveProfile(source: ProfileSource | undefined): Profile {
  if (source === undefined) return loadProfile(DEFAULT_PROFILE)
  return typeof source === 'string' ? loadProfile(source) : parseProfile(source)
}

export interface StartMockServerOptions {
  wire: WireName
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0 (a free port). */
  port?: number
  /** Default 'baseline'. */
  profile?: ProfileSource
  /** Default: the profile's seed, else 1. */
  seed?: number
  clock?: Clock
  timers?: Timers
}

export interface MockServer {
  /** e.g. http://127.0.0.1:12345 (no trailing slash, no /v1). */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly wire: WireName
  readonly service: MockService
  stats(): StatsSnapshot
  profile(): Profile
  setProfile(profile: ProfileSource): void
  reset(): void
  /** Closes the server, destroying open sockets (hanging requests included). */
  close(): Promise<void>
}

function urlFor(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server.address() as AddressInfo)
    })
  })
}

/** Starts one mock provider (node:http adapter) and resolves once it listens. */
export async function startMockServer(options: StartMockServerOptions): Promise<MockServer> {
  const host = options.host ?? '127.0.0.1'
  const service = new MockService({
    wire: options.wire,
    profile: resolveProfile(options.profile),
    seed: options.seed,
    clock: options.clock,
    timers: options.timers,
  })
  const server = createMockHttpServer(service)
  const address = await listen(server, options.port ?? 0, host)
  let closing: Promise<void> | null = null
  return {
    url: urlFor(host, address.port),
    host,
    port: address.port,
    wire: options.wire,
    service,
    stats: () => service.stats(),
    profile: () => service.profile(),
    setProfile: (profile) => service.setProfile(resolveProfile(profile)),
    reset: () => service.reset(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        service.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

export interface StartMocksOptions {
  host?: string
  /** Default 0; the CLI uses 8101. */
  openaiPort?: number
  /** Default 0; the CLI uses 8102. */
  anthropicPort?: number
  profile?: ProfileSource
  seed?: number
  clock?: Clock
  timers?: Timers
}

export interface Mocks {
  openai: MockServer
  anthropic: MockServer
  close(): Promise<void>
}

/** Starts mock-openai and mock-anthropic with the same profile and seed. */
export async function startMocks(options: StartMocksOptions = {}): Promise<Mocks> {
  const profile = resolveProfile(options.profile)
  const common = {
    host: options.host,
    profile,
    seed: options.seed,
    clock: options.clock,
    timers: options.timers,
  }
  const openai = await startMockServer({ ...common, wire: 'openai', port: options.openaiPort })
  let anthropic: MockServer
  try {
    anthropic = await startMockServer({ ...common, wire: 'anthropic', port: options.anthropicPort })
  } catch (error) {
    await openai.close()
    throw error
  }
  return {
    openai,
    anthropic,
    close: async () => {
      await Promise.all([openai.close(), anthropic.close()])
    },
  }
}
